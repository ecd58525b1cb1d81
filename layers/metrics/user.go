package metrics

import (
	"fmt"
	"math"
	"slices"

	vm "github.com/VictoriaMetrics/metrics"
)

// Counter is a counter the application registered with [Layer.NewCounter]: exposed on
// /metrics and shown by [Layer.Visit] (so pushed to SkyWalking by its layer). Its
// methods are safe for concurrent use and allocate nothing.
type Counter struct{ c *vm.FloatCounter }

// Add adds v to the counter. A negative, NaN or infinite v is ignored: a counter only
// grows.
func (c *Counter) Add(v float64) {
	if v >= 0 && !math.IsInf(v, 1) {
		c.c.Add(v)
	}
}

// Inc adds 1 to the counter.
func (c *Counter) Inc() { c.c.Add(1) }

// Value returns the counter's value.
func (c *Counter) Value() float64 { return c.c.Get() }

// Histogram is a histogram the application registered with [Layer.NewHistogram]. Its
// methods are safe for concurrent use and allocate nothing.
type Histogram struct{ h *vm.PrometheusHistogram }

// Observe counts v in its bucket. Negative values and NaN are ignored, as Prometheus
// histograms of VictoriaMetrics do.
func (h *Histogram) Observe(v float64) { h.h.Update(v) }

// NewCounter registers a counter name with labels, in the spirit of the SkyWalking
// agents' Metricer: it is exposed as name{labels} on /metrics and shown by
// [Layer.Visit]. name must be a valid Prometheus metric name (by convention ending in
// _total) and the label names valid label names other than le, each given once. A name
// and label set is registered once: registering it again, or a name that another
// metric of the layer exposes, is an error.
//
//	hits, err := m.NewCounter("cache_hits_total", metrics.Label{Name: "cache", Value: "songs"})
//	hits.Inc()
func (l *Layer) NewCounter(name string, labels ...Label) (*Counter, error) {
	hs, err := l.register(famUserCounter, "NewCounter", name, labels, func(series string) *handles {
		return &handles{count: l.set.NewFloatCounter(series)}
	})
	if err != nil {
		return nil, err
	}
	return &Counter{c: hs.count}, nil
}

// NewGaugeFunc registers a gauge name with labels whose value fn returns each time it
// is read (a scrape, a SkyWalking meter report). fn must be safe for concurrent calls
// and quick. Names and labels follow [Layer.NewCounter]'s rules.
//
//	err := m.NewGaugeFunc("queue_length", func() float64 { return float64(q.Len()) })
func (l *Layer) NewGaugeFunc(name string, fn func() float64, labels ...Label) error {
	if fn == nil {
		return fmt.Errorf("metrics: NewGaugeFunc(%q): nil function", name)
	}
	_, err := l.register(famUserGauge, "NewGaugeFunc", name, labels, func(series string) *handles {
		return &handles{gauge: l.set.NewGauge(series, fn)}
	})
	return err
}

// NewHistogram registers a histogram name with labels and its buckets' upper bounds:
// finite, non-negative and increasing (a last +Inf bucket is implied). It is exposed with
// name_bucket{le=...}, name_sum and name_count series; [Layer.Visit] shows its
// per-bucket counts, which the SkyWalking layer reports with each bucket's lower bound,
// as that protocol wants. Names and labels follow [Layer.NewCounter]'s rules.
//
//	lat, err := m.NewHistogram("upload_size_bytes", []float64{1e3, 1e4, 1e5, 1e6})
//	lat.Observe(float64(n))
func (l *Layer) NewHistogram(name string, upperBounds []float64, labels ...Label) (*Histogram, error) {
	if len(upperBounds) == 0 {
		return nil, fmt.Errorf("metrics: NewHistogram(%q): no bucket bounds", name)
	}
	for i, b := range upperBounds {
		if math.IsNaN(b) || math.IsInf(b, 0) || b < 0 || i > 0 && b <= upperBounds[i-1] {
			return nil, fmt.Errorf("metrics: NewHistogram(%q): bucket bounds %v: want finite, non-negative, increasing bounds", name, upperBounds)
		}
	}
	bounds := slices.Clone(upperBounds)
	hs, err := l.register(famUserHistogram, "NewHistogram", name, labels, func(series string) *handles {
		return &handles{hist: l.set.NewPrometheusHistogramExt(series, bounds), bounds: bounds}
	})
	if err != nil {
		return nil, err
	}
	return &Histogram{h: hs.hist}, nil
}

// register checks a user metric's name and labels and creates its series.
func (l *Layer) register(kind famKind, op, name string, labels []Label, create func(series string) *handles) (*handles, error) {
	if !validName(name, true) {
		return nil, fmt.Errorf("metrics: %s(%q): not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", op, name)
	}
	pairs := make([]labelPair, 0, len(labels))
	for i, lb := range labels {
		switch {
		case !validName(lb.Name, false):
			return nil, fmt.Errorf("metrics: %s(%q): label %q: not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", op, name, lb.Name)
		case lb.Name == "le":
			return nil, fmt.Errorf("metrics: %s(%q): label le is reserved for histogram buckets", op, name)
		}
		for _, prev := range labels[:i] {
			if prev.Name == lb.Name {
				return nil, fmt.Errorf("metrics: %s(%q): label %q given twice", op, name, lb.Name)
			}
		}
		pairs = append(pairs, labelPair{name: lb.Name, value: escapeLabelValue(lb.Value)})
	}
	text := ""
	if len(pairs) > 0 {
		text = formatLabels(pairs)
	}
	k := famKey{kind: kind, name: name}
	l.mu.Lock()
	for _, n := range k.exposedNames() {
		if o, ok := l.claims[n]; ok && o != k {
			l.mu.Unlock()
			return nil, fmt.Errorf("metrics: %s(%q): the name %s is already exposed by %s", op, name, n, o)
		}
	}
	if f := (*l.families.Load())[k]; f != nil {
		_, dup := f.series[text]
		if dup {
			l.mu.Unlock()
			return nil, fmt.Errorf("metrics: %s(%q): already registered with labels %s", op, name, text)
		}
	}
	l.mu.Unlock()
	fam := l.family(k)
	if fam == nil {
		return nil, fmt.Errorf("metrics: %s(%q): the layer already has %d metric names (WithMaxMetrics)", op, name, l.maxMetrics)
	}
	if fam.full.Load() && len(fam.series) < l.maxSeries {
		return nil, fmt.Errorf("metrics: %s(%q): one of its names is already exposed by another metric", op, name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := fam.series[text]; dup {
		return nil, fmt.Errorf("metrics: %s(%q): already registered with labels %s", op, name, text)
	}
	if len(fam.series) >= l.maxSeries {
		return nil, fmt.Errorf("metrics: %s(%q): the metric already has %d label sets (WithMaxSeries)", op, name, l.maxSeries)
	}
	hs := l.seriesLocked(fam, text, func() *handles { return create(name + text) })
	if hs == nil {
		return nil, fmt.Errorf("metrics: %s(%q): the set already holds %s with another type", op, name, name+text)
	}
	return hs, nil
}
