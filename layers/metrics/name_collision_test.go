package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
)

// checkFamilies reads an exposition with HELP and TYPE lines the way the Prometheus text
// parser (expfmt) groups it: a name belongs to the family of that name, or, ending in
// _bucket, _sum or _count, to the histogram it extends; otherwise it starts a family. A
// HELP or TYPE line for a family that has one already, or a TYPE line after the
// family's samples, makes the parser reject the whole scrape.
func checkFamilies(exposition string) error {
	type family struct{ typ string } // typ: "" until a TYPE line or a sample
	families := map[string]*family{}
	helped := map[string]bool{}
	resolve := func(name string) string {
		if families[name] != nil {
			return name
		}
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, s); ok && families[base] != nil && families[base].typ == "histogram" {
				return base
			}
		}
		if families[name] == nil {
			families[name] = &family{}
		}
		return name
	}
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		line := sc.Text()
		switch f := strings.Fields(line); {
		case line == "":
		case strings.HasPrefix(line, "# HELP "):
			n := resolve(f[2])
			if helped[n] {
				return fmt.Errorf("second HELP line for %s: %q", n, line)
			}
			helped[n] = true
		case strings.HasPrefix(line, "# TYPE "):
			n := resolve(f[2])
			if families[n].typ != "" {
				return fmt.Errorf("second TYPE line for %s, or TYPE reported after samples: %q", n, line)
			}
			families[n].typ = f[3]
		default:
			if fam := families[resolve(line[:strings.IndexAny(line, "{ ")])]; fam.typ == "" {
				fam.typ = "untyped"
			}
		}
	}
	return nil
}

func exposeTypes(t *testing.T) {
	vm.ExposeMetadata(true)
	t.Cleanup(func() { vm.ExposeMetadata(false) })
}

func exposition(m *metrics.Layer) string {
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	return buf.String()
}

func TestNamesOfOneFamilyAreNeverExposedByAnother(t *testing.T) {
	exposeTypes(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// first claims its names, second collides with one of them.
		first, second func(tr tracer)
		kept, dropped string // a series first exposes; the family second is counted under
		absent        string // a series second would have exposed
	}{
		{
			name:  "event gauge after span histogram's _count",
			first: func(tr tracer) { tr.span("ok") },
			second: func(tr tracer) {
				tr.event(slog.Int("counter.ok_duration_seconds_count", 1))
			},
			kept: `ok_duration_seconds_count{result="ok",span_name="op"}`, dropped: "ok_duration_seconds_count",
			absent: `ok_duration_seconds_count{cache="x"}`,
		},
		{
			name:   "span metric after event gauge named like its _sum",
			first:  func(tr tracer) { tr.event(slog.Int("counter.late_duration_seconds_sum", 3)) },
			second: func(tr tracer) { tr.span("late") },
			kept:   `late_duration_seconds_sum{cache="x"}`, dropped: "late",
			absent: `late_total{result="ok",span_name="op"}`,
		},
		{
			name:   "event histogram whose _count is a span metric's series",
			first:  func(tr tracer) { tr.span("ok") },
			second: func(tr tracer) { tr.event(slog.Int("histogram.ok_duration_seconds_count", 1)) },
			kept:   `ok_total{result="ok",span_name="op"}`, dropped: "ok_duration_seconds_count",
			absent: `ok_duration_seconds_count_count{cache="x"}`,
		},
		{
			name:   "event counter after span metric with the same _total",
			first:  func(tr tracer) { tr.span("jobs") },
			second: func(tr tracer) { tr.event(slog.Int("monotonic_counter.jobs", 1)) },
			kept:   `jobs_total{result="ok",span_name="op"}`, dropped: "jobs_total",
			absent: `jobs_total{cache="x"}`,
		},
		{
			name:   "span metric whose histogram is an event histogram",
			first:  func(tr tracer) { tr.event(slog.Int("histogram.y_duration_seconds", 1)) },
			second: func(tr tracer) { tr.span("y") },
			kept:   `y_duration_seconds_count{cache="x"}`, dropped: "y",
			absent: `y_total{result="ok",span_name="op"}`,
		},
		{
			name:   "event counter named like a self-metric",
			first:  func(tracer) {},
			second: func(tr tracer) { tr.event(slog.Int("monotonic_counter.strata_metrics_dropped_metrics", 1)) },
			kept:   "strata_metrics_dropped_metrics_total", dropped: "strata_metrics_dropped_metrics_total",
			absent: `strata_metrics_dropped_metrics_total{cache="x"}`,
		},
		{
			name: "span metric after a registered gauge named like its _bucket",
			first: func(tr tracer) {
				if err := tr.m.RegisterGauge(`work_duration_seconds_bucket{queue="a"}`, func() float64 { return 1 }); err != nil {
					tr.t.Fatal(err)
				}
			},
			second: func(tr tracer) { tr.span("work") },
			kept:   `work_duration_seconds_bucket{queue="a"}`, dropped: "work",
			absent: `work_total{result="ok",span_name="op"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tr := setup(t)
			tt := tracer{t: t, m: m, tr: tr, ctx: ctx}
			tc.first(tt)
			tc.second(tt)
			tc.second(tt)
			text := exposition(m)
			if err := checkFamilies(text); err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			got := scrape(t, m)
			if _, ok := got[tc.kept]; !ok {
				t.Errorf("%s not exposed: the first family keeps its names\n%s", tc.kept, text)
			}
			if _, ok := got[tc.absent]; ok {
				t.Errorf("%s exposed: the colliding family must not be\n%s", tc.absent, text)
			}
			if d := got[`strata_metrics_dropped_series_total{metric="`+tc.dropped+`"}`]; d != 2 {
				t.Errorf("dropped series of %s = %v, want 2 (both updates)\n%s", tc.dropped, d, text)
			}
		})
	}
}

func TestRegisterGaugeRefusesANameADerivedMetricExposes(t *testing.T) {
	m, tr := setup(t)
	_, span := tr.Start(context.Background(), "op", slog.String("metric_name", "ok"))
	span.End()
	for _, name := range []string{
		"ok_duration_seconds_count",
		`ok_duration_seconds_bucket{x="y"}`,
		"ok_total",
		"strata_metrics_dropped_series_total",
	} {
		if err := m.RegisterGauge(name, func() float64 { return 1 }); err == nil {
			t.Errorf("RegisterGauge(%q) = nil, want an error: the name is exposed already", name)
		}
	}
	// Several series of one registered family are fine.
	for _, name := range []string{`queue_length{q="a"}`, `queue_length{q="b"}`} {
		if err := m.RegisterGauge(name, func() float64 { return 1 }); err != nil {
			t.Errorf("RegisterGauge(%q) = %v", name, err)
		}
	}
}

func TestEventGaugeNamedLikeAProcessMetricIsDropped(t *testing.T) {
	exposeTypes(t)
	m, tr := setup(t, metrics.WithProcessMetrics())
	tr.Info(context.Background(), "e", slog.Int("counter.go_goroutines", 1))
	text := exposition(m)
	if err := checkFamilies(text); err != nil {
		t.Fatalf("%v", err)
	}
	if d := scrape(t, m)[`strata_metrics_dropped_series_total{metric="go_goroutines"}`]; d != 1 {
		t.Errorf("dropped = %v, want 1", d)
	}
}

// tracer is the little API the collision cases use.
type tracer struct {
	t   *testing.T
	m   *metrics.Layer
	tr  *subscriber.Tracer
	ctx context.Context
}

func (tt tracer) span(metricName string) {
	_, s := tt.tr.Start(tt.ctx, "op", slog.String("metric_name", metricName))
	s.End()
}

func (tt tracer) event(metric slog.Attr) {
	tt.tr.Info(tt.ctx, "e", metric, slog.String("cache", "x"))
}
