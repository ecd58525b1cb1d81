package metrics_test

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
)

// setup composes a dispatch with a metrics layer and returns a tracer bound to it.
func setup(t testing.TB, opts ...metrics.Option) (*metrics.Layer, *subscriber.Tracer) {
	t.Helper()
	m := metrics.New(opts...)
	d, err := subscriber.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, d.Tracer("test")
}

// scrape returns the layer's exposition as series -> value.
func scrape(t testing.TB, m *metrics.Layer) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("line without value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series exposed twice: %q", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}

// countPrefix counts the series whose name starts with prefix.
func countPrefix(series map[string]float64, prefix string) int {
	n := 0
	for s := range series {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}
