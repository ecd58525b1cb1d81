package metrics

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"
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

	// cache maps the identity bytes of a series (a span's metric name, span name and
	// label values; an event's labels and metric) to what it updates. memo maps the
	// start fields of spans seen before, by the addresses of their strings, to their
	// series: see memo.go.
	cache *seriesCache
	memo  *seriesCache

	// families is the copy-on-write map of metric families, read without a lock.
	families     atomic.Pointer[map[famKey]*family]
	familiesFull atomic.Bool
	droppedNames *vm.Counter

	// mu serialises the slow path: creating families, series and cache entries.
	mu sync.Mutex
	// claims maps every name the layer exposes to its owner (see claims.go). Guarded by
	// mu.
	claims map[string]famKey

	// visitList is every series Visit shows, in order of creation, and histIndex the
	// histograms among them by the start of their bucket lines (see visit.go). Both
	// guarded by mu; visitList is only appended to.
	visitList []*handles
	histIndex map[string]*handles
	// visitMu serialises Visit, which owns the scratch below.
	visitMu      sync.Mutex
	visitBuf     bytes.Buffer
	visitSeries  Series
	visitBuckets []Bucket
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
		memo:   newSeriesCache(),
		claims: make(map[string]famKey),
	}
	l.families.Store(&map[famKey]*family{})
	l.droppedNames = l.set.GetOrCreateCounter(droppedMetricsName)
	l.claimLocked(famKey{kind: famSelf}, []string{droppedSeriesName, droppedMetricsName})
	if c.process {
		l.claimLocked(famKey{kind: famProcess}, processMetricNames())
	}
	return l
}

// Set returns the VictoriaMetrics set the layer registers its series in (its own, or the
// one given with [WithSet]). Other layers and the application may register their
// metrics in it to have them served by [Layer.Handler].
func (l *Layer) Set() *vm.Set { return l.set }

// RegisterGauge publishes a gauge whose value fn returns at each scrape: the hook for
// other layers' self-metrics (a queue length, a count of drops). name may carry labels,
// `strata_skywalking_queue_length{backend="oap"}`. fn must be safe for concurrent calls.
// It returns an error, and registers nothing, when name is not a valid series name, is
// already registered, or its family name is one the layer already exposes otherwise (a
// derived metric's series, a self-metric); a derived metric that would later expose the
// gauge's name is refused instead (see the package documentation).
func (l *Layer) RegisterGauge(name string, fn func() float64) (err error) {
	if fn == nil {
		return fmt.Errorf("metrics: RegisterGauge(%q): nil function", name)
	}
	if err := vm.ValidateMetric(name); err != nil {
		return fmt.Errorf("metrics: RegisterGauge(%q): %w", name, err)
	}
	fam := familyName(name)
	owner := famKey{kind: famGauge, name: fam}
	l.mu.Lock()
	defer l.mu.Unlock()
	if o, ok := l.claims[fam]; ok && o != owner {
		return fmt.Errorf("metrics: RegisterGauge(%q): the name %s is already exposed by %s", name, fam, o)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("metrics: RegisterGauge(%q): %v", name, p)
		}
	}()
	g := l.set.NewGauge(name, fn)
	l.claimLocked(owner, []string{fam})
	l.trackLocked(&family{key: owner}, name[len(fam):], &handles{gauge: g})
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

// reservedLabel renames a user label that would clash with one the layer sets itself
// (span_name and result on span metrics; le, which histograms use, everywhere), the way
// Prometheus renames clashing target labels.
func reservedLabel(name string, span bool) string {
	if name == "le" || span && (name == "span_name" || name == "result") {
		return "exported_" + name
	}
	return name
}

// seriesLocked finds or creates the series labels of fam. It is called with l.mu held.
func (l *Layer) seriesLocked(fam *family, labels string, create func() *handles) *handles {
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
		l.trackLocked(fam, labels, hs)
	}
	return hs
}

// cacheLocked caches e, an identity of fam, unless fam has cached too many: different
// raw identities may name one series (keys that sanitise alike, an int and a string
// "1"), and hostile input must not grow the cache forever. Called with l.mu held.
func (l *Layer) cacheLocked(fam *family, e *entry) {
	if fam.entries < 4*l.maxSeries {
		fam.entries++
		l.cache.insert(e)
	}
}

func safeCreate(create func() *handles) (hs *handles) {
	defer func() {
		if recover() != nil {
			hs = nil
		}
	}()
	return create()
}

// famKind tells what a metric family is fed by.
type famKind uint8

const (
	famSpan famKind = iota
	famMonotonic
	famUpDown
	famHistogram
	// Owners of exposed names that are no family of derived series (see claims.go).
	famSelf    // the layer's self-metrics
	famGauge   // a gauge registered with RegisterGauge
	famProcess // the Go and process metrics of WithProcessMetrics
	// The metrics the application makes with NewCounter, NewGaugeFunc, NewHistogram.
	famUserCounter
	famUserGauge
	famUserHistogram
)

// String names an owner in RegisterGauge's error.
func (k famKey) String() string {
	switch k.kind {
	case famSpan:
		return "span metric " + k.name
	case famMonotonic:
		return "event counter " + k.name
	case famUpDown:
		return "event up-down counter " + k.name
	case famHistogram:
		return "event histogram " + k.name
	case famSelf:
		return "the layer's self-metrics"
	case famGauge:
		return "registered gauge " + k.name
	case famUserCounter:
		return "counter " + k.name
	case famUserGauge:
		return "gauge " + k.name
	case famUserHistogram:
		return "histogram " + k.name
	}
	return "the process metrics"
}

type famKey struct {
	kind famKind
	name string // sanitised
}

// family is one metric name (of one kind) and its series.
type family struct {
	key    famKey
	series map[string]*handles // by label set; guarded by Layer.mu
	// spans are the span series pairs of a span family, by label set without result;
	// guarded by Layer.mu.
	spans   map[string]*spanSeries
	entries int         // cached identities; guarded by Layer.mu
	full    atomic.Bool // no further series may be created
	dropped atomic.Pointer[vm.Counter]
}

// family returns the family for k, creating it on first sight. It returns nil (and
// counts the drop) when the cap on metric names is reached. A family that would expose a
// name another owner already exposes (see claims.go) is created full, so that its spans
// and events are counted in strata_metrics_dropped_series_total{metric="<name>"}.
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
	if k.kind == famSpan {
		f.spans = make(map[string]*spanSeries)
	}
	if !l.claimLocked(k, k.exposedNames()) {
		f.full.Store(true)
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
