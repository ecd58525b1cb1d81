package metrics

import (
	"log/slog"
	"math"
	"strings"

	"github.com/strata-go/strata/subscriber"
)

// The event field prefixes of tracing-opentelemetry's MetricsLayer.
const (
	prefixMonotonic = "monotonic_counter."
	prefixUpDown    = "counter."
	prefixHistogram = "histogram."
)

// eventMetric returns the kind and raw name of a metric field of an event, or false.
func eventMetric(key string) (famKind, string, bool) {
	if len(key) == 0 {
		return 0, "", false
	}
	switch key[0] {
	case 'm':
		if strings.HasPrefix(key, prefixMonotonic) {
			return famMonotonic, key[len(prefixMonotonic):], true
		}
	case 'c':
		if strings.HasPrefix(key, prefixUpDown) {
			return famUpDown, key[len(prefixUpDown):], true
		}
	case 'h':
		if strings.HasPrefix(key, prefixHistogram) {
			return famHistogram, key[len(prefixHistogram):], true
		}
	}
	return 0, "", false
}

// eventValue returns the number a metric field holds: integers, floats, and durations
// (in seconds). Other kinds are not measurements and are ignored.
func eventValue(v slog.Value) (float64, bool) {
	var f float64
	switch v.Kind() {
	case slog.KindInt64:
		f = float64(v.Int64())
	case slog.KindUint64:
		f = float64(v.Uint64())
	case slog.KindFloat64:
		f = v.Float64()
	case slog.KindDuration:
		f = v.Duration().Seconds()
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// maxStackLabels is how many event labels are sorted without allocating.
const maxStackLabels = 16

// OnEvent updates the metrics named by the event's monotonic_counter.*, counter.* and
// histogram.* fields, labelled with the event's other fields.
func (l *Layer) OnEvent(ev *subscriber.Event) {
	attrs := ev.Attrs
	metricsN := 0
	for i := range attrs {
		if _, _, ok := eventMetric(attrs[i].Key); ok {
			metricsN++
		}
	}
	if metricsN == 0 {
		return
	}
	// The labels, sorted by key (stable, so equal keys keep their order) for one identity
	// per label set whatever order the fields came in.
	var idxArr [maxStackLabels]int
	idx := idxArr[:0]
	for i := range attrs {
		if _, _, ok := eventMetric(attrs[i].Key); !ok {
			idx = append(idx, i)
			for j := len(idx) - 1; j > 0 && attrs[idx[j-1]].Key > attrs[idx[j]].Key; j-- {
				idx[j-1], idx[j] = idx[j], idx[j-1]
			}
		}
	}
	var bufArr [256]byte
	// The label count goes first: the metric's kind and name follow the labels, so the
	// bytes must say where the labels end.
	buf := appendLen(append(bufArr[:0], 'E'), len(idx))
	for _, i := range idx {
		buf = appendIdentString(buf, attrs[i].Key)
		buf = appendIdentValue(buf, attrs[i].Value)
	}
	labelsEnd := len(buf)
	for i := range attrs {
		kind, raw, ok := eventMetric(attrs[i].Key)
		if !ok {
			continue
		}
		v, ok := eventValue(attrs[i].Value)
		if !ok || kind == famMonotonic && v < 0 {
			continue
		}
		buf = append(buf[:labelsEnd], byte(kind))
		buf = appendIdentString(buf, raw)
		h := l.cache.hash(buf)
		var hs *handles
		if e := l.cache.lookup(h, buf); e != nil {
			hs = e.h
		} else if hs = l.eventSeries(kind, raw, attrs, idx, h, buf); hs == nil {
			continue
		}
		switch kind {
		case famMonotonic:
			hs.count.Add(v)
		case famUpDown:
			hs.gauge.Add(v)
		case famHistogram:
			hs.hist.Update(v)
		}
	}
}

// eventFamilyName is the exposed name of an event metric: OpenTelemetry's Prometheus
// exporter adds _total to monotonic counters, and so do we (unless it is there).
func eventFamilyName(kind famKind, raw string) string {
	name := sanitizeMetricName(raw)
	if name == "" {
		return ""
	}
	if kind == famMonotonic && !strings.HasSuffix(name, "_total") {
		name += "_total"
	}
	return name
}

// eventSeries is the slow path of OnEvent: the first sight of an identity.
func (l *Layer) eventSeries(kind famKind, raw string, attrs []slog.Attr, idx []int, h uint64, key []byte) *handles {
	name := eventFamilyName(kind, raw)
	if name == "" {
		return nil
	}
	fam := l.family(famKey{kind: kind, name: name})
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
	pairs := make([]labelPair, 0, len(idx))
	for _, i := range idx {
		pairs = append(pairs, labelPair{
			name:  reservedLabel(sanitizeLabelName(attrs[i].Key), false),
			value: escapeLabelValue(valueText(attrs[i].Value)),
		})
	}
	labels := ""
	if len(pairs) > 0 {
		labels = formatLabels(pairs)
	}
	series := name + labels
	hs := l.seriesLocked(fam, labels, func() *handles {
		switch kind {
		case famMonotonic:
			return &handles{count: l.set.GetOrCreateFloatCounter(series)}
		case famUpDown:
			return &handles{gauge: l.set.GetOrCreateGauge(series, nil)}
		}
		return &handles{hist: l.set.GetOrCreatePrometheusHistogramExt(series, l.eventBuckets)}
	})
	if hs != nil {
		l.cacheLocked(fam, &entry{hash: h, key: string(key), h: hs})
	}
	return hs
}
