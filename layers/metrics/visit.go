package metrics

import (
	"bytes"
	"math"
	"strings"
)

// Kind is what a [Series] measures.
type Kind uint8

// The kinds of series [Layer.Visit] shows.
const (
	// KindCounter only grows: <name>_total of span metrics, monotonic_counter.* event
	// fields, counters made with [Layer.NewCounter].
	KindCounter Kind = iota + 1
	// KindGauge goes up and down: counter.* event fields, [Layer.NewGaugeFunc] and
	// [Layer.RegisterGauge] gauges.
	KindGauge
	// KindHistogram counts observations in buckets: <name>_duration_seconds of span
	// metrics, histogram.* event fields, [Layer.NewHistogram].
	KindHistogram
)

// String returns "counter", "gauge" or "histogram".
func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return "unknown"
}

// Label is one label of a series: a valid Prometheus label name and its value, as
// given (not escaped).
type Label struct {
	Name, Value string
}

// Bucket is one bucket of a histogram series: the observations above the previous
// bucket's UpperBound (from minus infinity for the first) and up to UpperBound. The
// last bucket's UpperBound is +Inf. Counts are per bucket, not cumulative.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// Series is one series as [Layer.Visit] shows it. It is reused from one call of the
// visitor to the next: copy what you keep.
type Series struct {
	// Name is the series name as exposed, without labels: db_event_total,
	// db_event_duration_seconds, cache_hits_total.
	Name string
	// Labels are sorted by name.
	Labels []Label
	Kind   Kind
	// Value is a counter's or a gauge's value.
	Value float64
	// Buckets are a histogram's buckets, in increasing order of UpperBound, the last
	// one +Inf; Count is the number of observations (the sum of the buckets' counts).
	Buckets []Bucket
	Count   uint64
}

// Visit calls fn with every series the layer exposes, apart from the process metrics
// and metrics registered directly in the set: the series derived from spans and
// events, the metrics made with [Layer.NewCounter], [Layer.NewGaugeFunc] and
// [Layer.NewHistogram], and the gauges given to [Layer.RegisterGauge]. Exporters that
// push metrics (the SkyWalking layer's meter reports) read the layer through it.
//
// *Series is valid only during the call. fn must not call Visit. Visits are
// serialised; a visit reads the histograms' buckets from one exposition of the set, so
// it costs about a scrape, and allocates nothing more in steady state.
func (l *Layer) Visit(fn func(*Series)) {
	l.visitMu.Lock()
	defer l.visitMu.Unlock()
	l.mu.Lock()
	list := l.visitList
	hists := len(l.histIndex) > 0
	l.mu.Unlock()
	if hists {
		l.readHistograms()
	}
	s := &l.visitSeries
	for _, hs := range list {
		switch hs.kind {
		case famSpan:
			*s = Series{Name: hs.name, Labels: hs.labels, Kind: KindCounter, Value: float64(hs.total.Get())}
			fn(s)
			l.visitHistogram(fn, hs, hs.histName)
		case famMonotonic, famUserCounter:
			*s = Series{Name: hs.name, Labels: hs.labels, Kind: KindCounter, Value: hs.count.Get()}
			fn(s)
		case famUpDown, famUserGauge, famGauge:
			*s = Series{Name: hs.name, Labels: hs.labels, Kind: KindGauge, Value: hs.gauge.Get()}
			fn(s)
		case famHistogram, famUserHistogram:
			l.visitHistogram(fn, hs, hs.name)
		}
	}
}

// visitHistogram shows the histogram of hs, whose cumulative counts readHistograms
// left in hs.cum.
func (l *Layer) visitHistogram(fn func(*Series), hs *handles, name string) {
	if hs.seen != len(hs.cum) {
		return // not in the exposition (created since, or its name was taken)
	}
	b := l.visitBuckets[:0]
	var prev uint64
	for i, c := range hs.cum {
		ub := math.Inf(1)
		if i < len(hs.bounds) {
			ub = hs.bounds[i]
		}
		if c < prev {
			c = prev
		}
		b = append(b, Bucket{UpperBound: ub, Count: c - prev})
		prev = c
	}
	l.visitBuckets = b
	s := &l.visitSeries
	*s = Series{Name: name, Labels: hs.labels, Kind: KindHistogram, Buckets: b, Count: prev}
	fn(s)
}

// readHistograms fills the cumulative bucket counts of every histogram from one
// exposition of the set: VictoriaMetrics' PrometheusHistogram has no other read
// accessor. Each histogram writes its bucket lines together, in order, under its own
// lock, so the counts of one histogram are consistent. Called with visitMu held.
func (l *Layer) readHistograms() {
	l.visitBuf.Reset()
	l.set.WritePrometheus(&l.visitBuf)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, hs := range l.histIndex {
		hs.seen = 0
	}
	data := l.visitBuf.Bytes()
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		// A bucket line is <prefix>le="<bound>"} <count>: le is the last label (label
		// values escape their quotes, so le=" is found only as a label).
		j := bytes.LastIndex(line, []byte(`le="`))
		if j < 1 || line[j-1] != '{' && line[j-1] != ',' {
			continue
		}
		hs := l.histIndex[string(line[:j])]
		if hs == nil || hs.seen >= len(hs.cum) {
			continue
		}
		sp := bytes.LastIndexByte(line, ' ')
		v, ok := parseCount(line[sp+1:])
		if !ok {
			continue
		}
		hs.cum[hs.seen] = v
		hs.seen++
	}
}

// parseCount parses a bucket count: digits, or a float the writer chose for a large
// number.
func parseCount(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// bucketLinePrefix is what the _bucket lines of histogram name with the label set
// labels (`{a="x"}` or "") start with, up to le.
func bucketLinePrefix(name, labels string) string {
	if labels == "" {
		return name + "_bucket{"
	}
	return name + "_bucket" + labels[:len(labels)-1] + ","
}

// parseLabels turns a canonical label set `{a="x",b="y\"z"}` back into labels with
// their values unescaped.
func parseLabels(text string) []Label {
	if len(text) < 2 || text[0] != '{' {
		return nil
	}
	var out []Label
	s := text[1:]
	for len(s) > 0 && s[0] != '}' {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return out
		}
		name := s[:eq]
		s = s[eq+2:]
		var b strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		out = append(out, Label{Name: name, Value: b.String()})
		if i+1 > len(s) {
			return out
		}
		s = s[i+1:]
		if len(s) > 0 && s[0] == ',' {
			s = s[1:]
		}
	}
	return out
}

// trackLocked makes hs, a new series of fam with the label set labels, visible to
// Visit. Called with l.mu held.
func (l *Layer) trackLocked(fam *family, labels string, hs *handles) {
	var bounds []float64
	switch fam.key.kind {
	case famSpan:
		bounds = l.buckets
	case famHistogram:
		bounds = l.eventBuckets
	}
	hs.kind = fam.key.kind
	hs.labels = parseLabels(labels)
	hist := ""
	switch fam.key.kind {
	case famSpan:
		hs.name = fam.key.name + "_total"
		hs.histName = fam.key.name + "_duration_seconds"
		hist = hs.histName
	case famHistogram, famUserHistogram:
		hs.name = fam.key.name
		hist = hs.name
	default:
		hs.name = fam.key.name
	}
	if hist != "" {
		if hs.bounds == nil {
			hs.bounds = bounds
		}
		hs.cum = make([]uint64, len(hs.bounds)+1)
		if l.histIndex == nil {
			l.histIndex = make(map[string]*handles)
		}
		l.histIndex[bucketLinePrefix(hist, labels)] = hs
	}
	l.visitList = append(l.visitList, hs)
}
