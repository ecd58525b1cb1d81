package metrics

import (
	"bufio"
	"bytes"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"
)

// Every name the layer exposes belongs to exactly one owner, so that one scrape never
// shows a name with two types nor one family's sample under another's TYPE line (a
// Prometheus parser rejects the whole scrape for either). A family owns every name a
// sample or a TYPE line of it may carry, not only its base name: a histogram h owns h,
// h_bucket, h_sum and h_count, and a span metric n owns n_total and the three series of
// its n_duration_seconds histogram besides that histogram's name. The first owner of a
// name keeps it; a family that would share a name with another owner is created full,
// so that its updates are dropped and counted.

// exposedNames returns every name family k may expose: sample names and family names.
func (k famKey) exposedNames() []string {
	switch k.kind {
	case famSpan:
		return append([]string{k.name + "_total"}, histogramNames(k.name+"_duration_seconds")...)
	case famHistogram, famUserHistogram:
		return histogramNames(k.name)
	}
	return []string{k.name}
}

func histogramNames(h string) []string {
	return []string{h, h + "_bucket", h + "_sum", h + "_count"}
}

// claimLocked gives owner every name in names, if none has another owner, and reports
// whether it did. It is called with l.mu held.
func (l *Layer) claimLocked(owner famKey, names []string) bool {
	for _, n := range names {
		if o, ok := l.claims[n]; ok && o != owner {
			return false
		}
	}
	for _, n := range names {
		l.claims[n] = owner
	}
	return true
}

// familyName returns the family part of a series name: `q{a="b"}` is family q.
func familyName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}

// processMetricNames returns the names [vm.WriteProcessMetrics] exposes, so that no
// derived metric takes one of them (go_goroutines from a counter.go_goroutines event
// field, say). A sample x_bucket, x_sum or x_count also stands for its family x.
func processMetricNames() []string {
	var buf bytes.Buffer
	vm.WriteProcessMetrics(&buf)
	seen := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name := familyName(line)
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name = name[:i]
		}
		seen[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				seen[base] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	return out
}
