package metrics

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// DefaultBuckets are the default upper bounds, in seconds, of the
// <name>_duration_seconds histograms: those of the Prometheus client libraries, from
// 5 ms to 10 s.
var DefaultBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultEventBuckets are the default upper bounds of histograms fed by histogram.*
// event fields: the OpenTelemetry SDK's default explicit bucket boundaries, since the
// convention comes from tracing-opentelemetry and the unit is the user's.
var DefaultEventBuckets = []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

// DefaultMaxSeries is the default cap on label sets per metric; see [WithMaxSeries].
const DefaultMaxSeries = 1000

// DefaultMaxMetrics is the default cap on distinct metric names; see [WithMaxMetrics].
const DefaultMaxMetrics = 1000

// The self-metrics the layer keeps about itself.
const (
	droppedSeriesName  = "strata_metrics_dropped_series_total"
	droppedMetricsName = "strata_metrics_dropped_metrics_total"
)

// Option configures a [Layer].
type Option func(*config)

type config struct {
	set          *vm.Set
	extra        []*vm.Set
	buckets      []float64
	eventBuckets []float64
	maxSeries    int
	maxMetrics   int
	process      bool
}

// WithSet makes the layer register its series in s instead of a set of its own, so that
// an application that already serves a VictoriaMetrics set exposes the derived series
// with it. Two layers given the same set share series of the same name and labels.
func WithSet(s *vm.Set) Option {
	return func(c *config) {
		if s != nil {
			c.set = s
		}
	}
}

// WithSets adds sets whose metrics [Layer.WritePrometheus] and [Layer.Handler] expose
// after the layer's own: the way other layers and the application publish their
// self-metrics through the same /metrics endpoint.
func WithSets(sets ...*vm.Set) Option {
	return func(c *config) {
		for _, s := range sets {
			if s != nil {
				c.extra = append(c.extra, s)
			}
		}
	}
}

// WithBuckets sets the upper bounds, in seconds, of the <name>_duration_seconds
// histograms. They are sorted and de-duplicated; NaN, negative and infinite bounds are
// dropped (+Inf is always implied). With no usable bound, [DefaultBuckets] apply.
func WithBuckets(upperBounds ...float64) Option {
	return func(c *config) { c.buckets = normalizeBuckets(upperBounds, DefaultBuckets) }
}

// WithEventBuckets sets the upper bounds of histograms fed by histogram.* event fields,
// normalised like [WithBuckets]; the default is [DefaultEventBuckets].
func WithEventBuckets(upperBounds ...float64) Option {
	return func(c *config) { c.eventBuckets = normalizeBuckets(upperBounds, DefaultEventBuckets) }
}

// WithMaxSeries caps the label sets of each metric (default [DefaultMaxSeries]): a span
// or event that would create one more is not recorded and is counted in
// strata_metrics_dropped_series_total{metric="<name>"} instead, so that a label fed by
// unbounded input (a user id, a raw URL) cannot exhaust memory or the scraper. n <= 0
// keeps the default.
func WithMaxSeries(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxSeries = n
		}
	}
}

// WithMaxMetrics caps the distinct metric names (default [DefaultMaxMetrics]): the
// spans and events of further names are counted in strata_metrics_dropped_metrics_total.
// n <= 0 keeps the default.
func WithMaxMetrics(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxMetrics = n
		}
	}
}

// WithProcessMetrics makes [Layer.WritePrometheus] and [Layer.Handler] also expose the
// Go runtime and process metrics (go_*, process_*) that VictoriaMetrics collects.
func WithProcessMetrics() Option {
	return func(c *config) { c.process = true }
}

func normalizeBuckets(b, def []float64) []float64 {
	out := make([]float64, 0, len(b))
	for _, v := range b {
		if !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return slices.Clone(def)
	}
	return out
}

// Layer derives Prometheus metrics from spans and events; see the package documentation.
// Create it with [New] and compose it after the storage layer. Its hooks are safe for
// concurrent use.
type Layer struct {
	config // as the options left it; read-only after New

	cache *seriesCache

	// families is the copy-on-write map of metric families, read without a lock.
	families     atomic.Pointer[map[famKey]*family]
	familiesFull atomic.Bool
	droppedNames *vm.Counter

	// mu serialises the slow path: creating families, series and cache entries.
	mu sync.Mutex
	// claims maps each exposed family name to its Prometheus type, so that one name is
	// never exposed with two types. Guarded by mu.
	claims map[string]string
}

// New returns a metrics layer configured by opts.
func New(opts ...Option) *Layer {
	c := config{maxSeries: DefaultMaxSeries, maxMetrics: DefaultMaxMetrics}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.set == nil {
		c.set = vm.NewSet()
	}
	if c.buckets == nil {
		c.buckets = slices.Clone(DefaultBuckets)
	}
	if c.eventBuckets == nil {
		c.eventBuckets = slices.Clone(DefaultEventBuckets)
	}
	l := &Layer{
		config: c,
		cache:  newSeriesCache(),
		claims: make(map[string]string),
	}
	l.families.Store(&map[famKey]*family{})
	l.droppedNames = l.set.GetOrCreateCounter(droppedMetricsName)
	return l
}

// Set returns the VictoriaMetrics set the layer registers its series in (its own, or the
// one given with [WithSet]). Other layers and the application may register their
// metrics in it to have them served by [Layer.Handler].
func (l *Layer) Set() *vm.Set { return l.set }

// RegisterGauge publishes a gauge whose value fn returns at each scrape: the hook for
// other layers' self-metrics (a queue length, a count of drops). name may carry labels,
// `strata_skywalking_queue_length{backend="oap"}`. fn must be safe for concurrent calls.
// It returns an error, and registers nothing, when name is not a valid series name or is
// already registered.
func (l *Layer) RegisterGauge(name string, fn func() float64) (err error) {
	if fn == nil {
		return fmt.Errorf("metrics: RegisterGauge(%q): nil function", name)
	}
	if err := vm.ValidateMetric(name); err != nil {
		return fmt.Errorf("metrics: RegisterGauge(%q): %w", name, err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("metrics: RegisterGauge(%q): %v", name, p)
		}
	}()
	l.set.NewGauge(name, fn)
	return nil
}

// WritePrometheus writes every metric the layer exposes to w in the Prometheus text
// format: the layer's set, the sets given with [WithSets] and, with
// [WithProcessMetrics], the Go and process metrics.
func (l *Layer) WritePrometheus(w io.Writer) {
	l.set.WritePrometheus(w)
	for _, s := range l.extra {
		s.WritePrometheus(w)
	}
	if l.process {
		vm.WriteProcessMetrics(w)
	}
}

// Handler returns an http.Handler that serves [Layer.WritePrometheus] in the
// Prometheus text format, for a /metrics endpoint:
//
//	http.Handle("/metrics", m.Handler())
func (l *Layer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if r.Method == http.MethodHead {
			return
		}
		l.WritePrometheus(w)
	})
}

// spanMetric is what the layer keeps per span, captured from the span's own fields in
// OnNewSpan and OnRecord. The slot is shared by every metrics layer of a dispatch; the
// capture is idempotent, so two layers filling it see the same value.
type spanMetric struct {
	name     slog.Value
	hasName  bool
	errField bool
	// labels are the metric_label_* fields, sorted by key (the suffix), one per key.
	labels []rawLabel
	// buf is scratch for the series identity at close, kept with the pooled record.
	buf []byte
}

type rawLabel struct {
	key string
	val slog.Value
}

// maxKeptBuf bounds the scratch a pooled record keeps, so one huge label value does not
// pin memory forever.
const maxKeptBuf = 4 << 10

var spanSlot = registry.NewSlot(func(m *spanMetric) {
	m.name = slog.Value{}
	m.hasName = false
	m.errField = false
	clear(m.labels)
	m.labels = m.labels[:0]
	if cap(m.buf) > maxKeptBuf {
		m.buf = nil
	}
	m.buf = m.buf[:0]
})

const (
	fieldMetricName   = "metric_name"
	fieldMetricLabel  = "metric_label_"
	fieldMetricPrefix = "metric_"
	fieldError        = "error"
)

func (m *spanMetric) capture(fields []slog.Attr) {
	for i := range fields {
		k := fields[i].Key
		switch {
		case k == fieldError:
			// An "error" field holding nil is no error.
			v := fields[i].Value
			m.errField = !(v.Kind() == slog.KindAny && v.Any() == nil)
		case len(k) < len(fieldMetricPrefix) || k[:len(fieldMetricPrefix)] != fieldMetricPrefix:
		case k == fieldMetricName:
			m.name = fields[i].Value
			m.hasName = true
		case len(k) >= len(fieldMetricLabel) && k[:len(fieldMetricLabel)] == fieldMetricLabel:
			m.setLabel(k[len(fieldMetricLabel):], fields[i].Value)
		}
	}
}

func (m *spanMetric) setLabel(key string, v slog.Value) {
	// A span has a handful of labels: a linear scan and an insertion step beat a binary
	// search here.
	for i := range m.labels {
		if m.labels[i].key == key {
			m.labels[i].val = v
			return
		}
	}
	m.labels = append(m.labels, rawLabel{key: key, val: v})
	for j := len(m.labels) - 1; j > 0 && m.labels[j-1].key > m.labels[j].key; j-- {
		m.labels[j-1], m.labels[j] = m.labels[j], m.labels[j-1]
	}
}

// OnNewSpan captures the span's metric_* fields and whether it has an error field.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	if m := spanSlot.Get(span.Record()); m != nil {
		m.capture(fields)
	}
}

// OnRecord captures metric_* and error fields recorded after the start (EndErr records
// its error this way).
func (l *Layer) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	if m := spanSlot.Get(span.Record()); m != nil {
		m.capture(fields)
	}
}

// OnClose updates <name>_total and <name>_duration_seconds for a span with an own
// metric_name field. In steady state (a label set seen before) it takes no lock and
// allocates nothing.
func (l *Layer) OnClose(span subscriber.SpanRef) {
	m := spanSlot.Get(span.Record())
	if m == nil || !m.hasName {
		return
	}
	failed := m.errField || spanHasError(span)
	key := appendSpanIdentity(m.buf[:0], m, span.Name(), failed)
	m.buf = key
	h := l.cache.hash(key)
	var hs *handles
	if e := l.cache.lookup(h, key); e != nil {
		hs = e.h
	} else if hs = l.spanSeries(span, m, failed, h, key); hs == nil {
		return
	}
	hs.total.Inc()
	hs.hist.Update(span.Duration().Seconds())
}

// appendSpanIdentity appends the bytes that identify a span's series: a tag, then each
// part length-prefixed so that no two different identities share their bytes.
func appendSpanIdentity(dst []byte, m *spanMetric, spanName string, failed bool) []byte {
	dst = append(dst, 'S')
	if failed {
		dst = append(dst, 'e')
	} else {
		dst = append(dst, 'o')
	}
	dst = appendIdentValue(dst, m.name)
	dst = appendIdentString(dst, spanName)
	for i := range m.labels {
		dst = appendIdentString(dst, m.labels[i].key)
		dst = appendIdentValue(dst, m.labels[i].val)
	}
	return dst
}

func appendIdentString(dst []byte, s string) []byte {
	dst = appendLen(dst, len(s))
	return append(dst, s...)
}

// appendIdentValue appends a value's label text, length-prefixed. The identity is
// built from the text the exposition shows, not from the value's kind: 5 and "5" make
// the same label value, so they share one cache entry.
func appendIdentValue(dst []byte, v slog.Value) []byte {
	if v.Kind() == slog.KindString {
		return appendIdentString(dst, v.String())
	}
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendValueText(dst, v)
	n := len(dst) - at - 4
	dst[at], dst[at+1], dst[at+2], dst[at+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return dst
}

func appendLen(dst []byte, n int) []byte {
	return append(dst, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
}

// spanSeries is the slow path of OnClose: the first sight of an identity.
func (l *Layer) spanSeries(span subscriber.SpanRef, m *spanMetric, failed bool, h uint64, key []byte) *handles {
	name := sanitizeMetricName(valueText(m.name))
	if name == "" {
		return nil // an empty metric_name names no metric
	}
	fam := l.family(famKey{kind: famSpan, name: name})
	if fam == nil {
		return nil
	}
	if fam.full.Load() {
		l.dropSeries(fam)
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.cache.lookup(h, key); e != nil {
		return e.h
	}
	pairs := make([]labelPair, 0, len(m.labels)+2)
	for _, lb := range m.labels {
		pairs = append(pairs, labelPair{name: reservedLabel(sanitizeLabelName(lb.key), true), value: escapeLabelValue(valueText(lb.val))})
	}
	result := "ok"
	if failed {
		result = "error"
	}
	pairs = append(pairs,
		labelPair{name: "span_name", value: escapeLabelValue(span.Name())},
		labelPair{name: "result", value: result})
	labels := formatLabels(pairs)
	return l.seriesLocked(fam, labels, h, key, func() *handles {
		return &handles{
			total: l.set.GetOrCreateCounter(name + "_total" + labels),
			hist:  l.set.GetOrCreatePrometheusHistogramExt(name+"_duration_seconds"+labels, l.buckets),
		}
	})
}

// reservedLabel renames a user label that would clash with one the layer sets itself
// (span_name and result on span metrics; le, which histograms use, everywhere), the way
// Prometheus renames clashing target labels.
func reservedLabel(name string, span bool) string {
	if name == "le" || span && (name == "span_name" || name == "result") {
		return "exported_" + name
	}
	return name
}

// seriesLocked finds or creates the series labels of fam and caches key for it. It is
// called with l.mu held.
func (l *Layer) seriesLocked(fam *family, labels string, h uint64, key []byte, create func() *handles) *handles {
	hs := fam.series[labels]
	if hs == nil {
		if len(fam.series) >= l.maxSeries {
			fam.full.Store(true)
			l.dropSeriesLocked(fam)
			return nil
		}
		hs = safeCreate(create)
		if hs == nil {
			// The set already holds this name with another type (a user's own set):
			// nothing can be recorded under it.
			l.dropSeriesLocked(fam)
			return nil
		}
		fam.series[labels] = hs
	}
	// Different raw identities may name one series (keys that sanitise alike, an int and a
	// string "1"); cap how many are cached so hostile input cannot grow the cache forever.
	if fam.entries < 4*l.maxSeries {
		fam.entries++
		l.cache.insert(&entry{hash: h, key: string(key), h: hs})
	}
	return hs
}

func safeCreate(create func() *handles) (hs *handles) {
	defer func() {
		if recover() != nil {
			hs = nil
		}
	}()
	return create()
}

// handles are the VictoriaMetrics metrics one series updates.
type handles struct {
	total *vm.Counter             // span metrics: <name>_total
	hist  *vm.PrometheusHistogram // span metrics: duration; histogram.* events
	count *vm.FloatCounter        // monotonic_counter.* events
	gauge *vm.Gauge               // counter.* events (up and down)
}

// famKind tells what a metric family is fed by.
type famKind uint8

const (
	famSpan famKind = iota
	famMonotonic
	famUpDown
	famHistogram
)

type famKey struct {
	kind famKind
	name string // sanitised
}

// family is one metric name (of one kind) and its series.
type family struct {
	key     famKey
	series  map[string]*handles // by label set; guarded by Layer.mu
	entries int                 // cached identities; guarded by Layer.mu
	full    atomic.Bool         // no further series may be created
	dropped atomic.Pointer[vm.Counter]
}

// exposed returns the names and Prometheus types a family writes.
func (k famKey) exposed() [][2]string {
	switch k.kind {
	case famSpan:
		return [][2]string{{k.name + "_total", "counter"}, {k.name + "_duration_seconds", "histogram"}}
	case famMonotonic:
		return [][2]string{{k.name, "counter"}}
	case famUpDown:
		return [][2]string{{k.name, "gauge"}}
	}
	return [][2]string{{k.name, "histogram"}}
}

// family returns the family for k, creating it on first sight. It returns nil (and
// counts the drop) when the cap on metric names is reached. A family whose exposed names
// would clash with another type is created full, so its spans and events are counted as
// dropped.
func (l *Layer) family(k famKey) *family {
	if f := (*l.families.Load())[k]; f != nil {
		return f
	}
	if l.familiesFull.Load() {
		l.droppedNames.Inc()
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.families.Load()
	if f := old[k]; f != nil {
		return f
	}
	if len(old) >= l.maxMetrics {
		l.familiesFull.Store(true)
		l.droppedNames.Inc()
		return nil
	}
	f := &family{key: k, series: make(map[string]*handles)}
	clash := false
	for _, e := range k.exposed() {
		if t, ok := l.claims[e[0]]; ok && t != e[1] {
			clash = true
		}
	}
	if clash {
		f.full.Store(true)
	} else {
		for _, e := range k.exposed() {
			l.claims[e[0]] = e[1]
		}
	}
	next := make(map[famKey]*family, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = f
	l.families.Store(&next)
	return f
}

func (l *Layer) dropSeries(f *family) {
	if c := f.dropped.Load(); c != nil {
		c.Inc()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropSeriesLocked(f)
}

func (l *Layer) dropSeriesLocked(f *family) {
	c := f.dropped.Load()
	if c == nil {
		c = safeCounter(l.set, droppedSeriesName+`{metric="`+f.key.name+`"}`)
		if c == nil {
			return
		}
		f.dropped.Store(c)
	}
	c.Inc()
}

func safeCounter(s *vm.Set, name string) (c *vm.Counter) {
	defer func() {
		if recover() != nil {
			c = nil
		}
	}()
	return s.GetOrCreateCounter(name)
}
