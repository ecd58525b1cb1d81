package metrics

import (
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

const (
	fieldMetricName   = "metric_name"
	fieldMetricLabel  = "metric_label_"
	fieldMetricPrefix = "metric_"
	fieldError        = "error"
)

// WantedFields tells the dispatch which spans and events the layer wants, whatever their
// level ([subscriber.FieldWanter]): spans with a metric_* field among their start
// fields; events with a monotonic_counter.*, counter.* or histogram.* field, and events
// with an error field (error, error.message, ...). The layer does nothing with the
// latter itself: wanting them makes the storage layer, which serves only what other
// layers want, keep the error fields of events logged inside a span, so that such a
// span counts as result="error" whatever the other layers' levels. Other spans and
// events never reach the layer.
func (l *Layer) WantedFields() (span, event []string) {
	return []string{fieldMetricPrefix}, []string{prefixMonotonic, prefixUpDown, prefixHistogram, fieldError}
}

// spanMetric is what the layer keeps per span. The slot is shared by every metrics
// layer of a dispatch: they capture the same fields into it, and the series it holds is
// the first one's (owner); the others resolve theirs at close.
type spanMetric struct {
	opted    bool // a metric_* field was given at start: the span asked for metrics
	hasName  bool
	errField bool // the newest "error" field names an actual error
	name     slog.Value
	// labels are the metric_label_* fields, sorted by key (the suffix), one per key.
	labels []rawLabel
	// startAttrs, when not nil, are the metric_name and metric_label_* start fields a
	// memo hit left in place of name and labels (see materialize). They belong to the
	// memo entry and are never modified.
	startAttrs []slog.Attr
	// series is the span's series pair, resolved by owner at start; nil when unknown or
	// when a metric_* field changed since.
	series *spanSeries
	owner  *Layer
	// buf is scratch for the series identity, kept with the pooled record.
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
	m.opted, m.hasName, m.errField = false, false, false
	m.name = slog.Value{}
	clear(m.labels)
	m.labels = m.labels[:0]
	m.startAttrs = nil
	m.series, m.owner = nil, nil
	if cap(m.buf) > maxKeptBuf {
		m.buf = nil
	}
	m.buf = m.buf[:0]
})

// set applies one metric_name or metric_label_* field; others are ignored.
func (m *spanMetric) set(k string, v slog.Value) {
	switch {
	case k == fieldMetricName:
		m.name = v
		m.hasName = true
	case strings.HasPrefix(k, fieldMetricLabel):
		m.setLabel(k[len(fieldMetricLabel):], v)
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

// materialize turns the start fields a memo hit left in startAttrs into name and labels,
// for the paths that need them: a metric field recorded later, another metrics layer.
func (m *spanMetric) materialize() {
	if attrs := m.startAttrs; attrs != nil {
		m.startAttrs = nil
		for i := range attrs {
			m.set(attrs[i].Key, attrs[i].Value)
		}
	}
}

// OnNewSpan notes whether the span asked for metrics (a metric_* field among its start
// fields) and has an error field, and resolves the series it will update, so that
// OnClose only picks the result's series and updates it.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	m := spanSlot.Get(span.Record())
	if m == nil {
		return
	}
	var probe memoProbe
	memo := true
	for i := range fields {
		k := fields[i].Key
		switch {
		case k == fieldError:
			m.errField = subscriber.IsErrorValue(fields[i].Value)
		case !strings.HasPrefix(k, fieldMetricPrefix):
		default:
			m.opted = true
			if k == fieldMetricName {
				m.hasName = true
			}
			if memo && isMetricField(k) {
				memo = probe.add(&fields[i])
			}
		}
	}
	if !m.hasName {
		// A metric_name may still be recorded; keep the labels given so far.
		for i := range fields {
			m.set(fields[i].Key, fields[i].Value)
		}
		return
	}
	mine := m.owner == nil || m.owner == l
	if memo {
		probe.finish(span.Name())
		if e := l.memo.lookupMemo(&probe); e != nil {
			m.startAttrs = e.memo.attrs
			if mine {
				m.series, m.owner = e.ss, l
			}
			return
		}
	}
	for i := range fields {
		m.set(fields[i].Key, fields[i].Value)
	}
	if ss := l.lookupSpan(span, m); ss != nil && mine {
		m.series, m.owner = ss, l
		if memo && ss.memos.Load() < maxMemos {
			var values [maxMemoFields]slog.Value
			n := 0
			for i := range fields {
				if isMetricField(fields[i].Key) {
					values[n] = fields[i].Value
					n++
				}
			}
			l.memoize(&probe, values[:n], ss)
		}
	}
}

// OnRecord applies metric_* and error fields recorded after the start (EndErr records
// its error this way). Metric fields count only for a span that asked for metrics at
// start, as the dispatch shows the layer no other span.
func (l *Layer) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	m := spanSlot.Get(span.Record())
	if m == nil {
		return
	}
	for i := range fields {
		k := fields[i].Key
		switch {
		case k == fieldError:
			m.errField = subscriber.IsErrorValue(fields[i].Value)
		case m.opted && isMetricField(k):
			m.materialize()
			m.set(k, fields[i].Value)
			m.series = nil
		}
	}
}

// OnClose updates <name>_total and <name>_duration_seconds for a span with an own
// metric_name field. In steady state (a label set seen before) it takes no lock and
// allocates nothing; when the series were resolved at start and no metric field changed
// since, it builds and hashes nothing either.
func (l *Layer) OnClose(span subscriber.SpanRef) {
	m := spanSlot.Get(span.Record())
	if m == nil || !m.hasName {
		return
	}
	failed := m.errField || spanHasError(span)
	ss := m.series
	if ss == nil || m.owner != l {
		m.materialize()
		if ss = l.lookupSpan(span, m); ss == nil {
			if ss = l.newSpanSeries(span, m, failed); ss == nil {
				return
			}
		}
	}
	hs := ss.result(failed).Load()
	if hs == nil {
		if hs = l.spanHandles(ss, failed); hs == nil {
			return
		}
	}
	hs.total.Inc()
	hs.hist.Update(span.Duration().Seconds())
}

// spanSeries is the pair of series one label set of a span metric updates: one for
// result="ok", one for result="error", each created on first use.
type spanSeries struct {
	fam *family
	// pairs are the label set without result, sorted; read-only.
	pairs   []labelPair
	ok, err atomic.Pointer[handles]
	memos   atomic.Int32 // memo entries that point here
}

func (ss *spanSeries) result(failed bool) *atomic.Pointer[handles] {
	if failed {
		return &ss.err
	}
	return &ss.ok
}

// lookupSpan returns the series pair of m's identity, if one was cached: the identity
// path, which reads every byte of the metric fields. It leaves the identity in m.buf.
func (l *Layer) lookupSpan(span subscriber.SpanRef, m *spanMetric) *spanSeries {
	key := appendSpanIdentity(m.buf[:0], m, span.Name())
	m.buf = key
	if e := l.cache.lookup(l.cache.hash(key), key); e != nil {
		return e.ss
	}
	return nil
}

// appendSpanIdentity appends the bytes that identify a span's label set: a tag, then
// each part length-prefixed so that no two different identities share their bytes.
func appendSpanIdentity(dst []byte, m *spanMetric, spanName string) []byte {
	dst = append(dst, 'S')
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

// newSpanSeries is the slow path of OnClose: the first sight of an identity (in m.buf,
// left there by lookupSpan). It finds or creates the series pair and the series of the
// span's result together, so that a pair exists only with a series admitted under the
// cap.
func (l *Layer) newSpanSeries(span subscriber.SpanRef, m *spanMetric, failed bool) *spanSeries {
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
	key := m.buf
	h := l.cache.hash(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.cache.lookup(h, key); e != nil {
		return e.ss
	}
	pairs := make([]labelPair, 0, len(m.labels)+1)
	for _, lb := range m.labels {
		pairs = append(pairs, labelPair{name: reservedLabel(sanitizeLabelName(lb.key), true), value: escapeLabelValue(valueText(lb.val))})
	}
	pairs = append(pairs, labelPair{name: "span_name", value: escapeLabelValue(span.Name())})
	text := formatLabels(pairs) // also sorts pairs
	ss := fam.spans[text]
	if ss == nil {
		ss = &spanSeries{fam: fam, pairs: pairs}
		if l.spanHandlesLocked(ss, failed) == nil {
			return nil
		}
		fam.spans[text] = ss
	}
	l.cacheLocked(fam, &entry{hash: h, key: string(key), ss: ss})
	return ss
}

// spanHandles returns the series of ss for a result first seen in its pair.
func (l *Layer) spanHandles(ss *spanSeries, failed bool) *handles {
	if ss.fam.full.Load() {
		l.dropSeries(ss.fam)
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spanHandlesLocked(ss, failed)
}

// spanHandlesLocked finds or creates the series of ss for the result. It is called with
// l.mu held.
func (l *Layer) spanHandlesLocked(ss *spanSeries, failed bool) *handles {
	slot := ss.result(failed)
	if hs := slot.Load(); hs != nil {
		return hs
	}
	result := "ok"
	if failed {
		result = "error"
	}
	labels := formatLabels(append(slices.Clone(ss.pairs), labelPair{name: "result", value: result}))
	name := ss.fam.key.name
	hs := l.seriesLocked(ss.fam, labels, func() *handles {
		return &handles{
			total: l.set.GetOrCreateCounter(name + "_total" + labels),
			hist:  l.set.GetOrCreatePrometheusHistogramExt(name+"_duration_seconds"+labels, l.buckets),
		}
	})
	if hs != nil {
		slot.Store(hs)
	}
	return hs
}

// handles are the VictoriaMetrics metrics one series updates.
type handles struct {
	total *vm.Counter             // span metrics: <name>_total
	hist  *vm.PrometheusHistogram // span metrics: duration; histogram.* events; NewHistogram
	count *vm.FloatCounter        // monotonic_counter.* events; NewCounter
	gauge *vm.Gauge               // counter.* events (up and down); NewGaugeFunc; RegisterGauge

	// What Visit shows, set when the series is created (see visit.go).
	kind     famKind
	name     string // the counter's, gauge's or histogram's name
	histName string // a span metric's histogram
	labels   []Label
	bounds   []float64 // a histogram's upper bounds
	// cum are a histogram's cumulative bucket counts, +Inf last, and seen how many of
	// them the last exposition gave; owned by Visit.
	cum  []uint64
	seen int
}
