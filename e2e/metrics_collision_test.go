package e2e

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// A span metric "ok" exposes ok_total and the histogram ok_duration_seconds, whose
// samples are ok_duration_seconds_bucket, _sum and _count. Event metrics, a registered
// gauge and the process metrics named like one of those, in either order, must not make
// the scrape unparsable: the first family keeps the name, the later one is dropped and
// counted.
func TestMetricNameCollisionsKeepTheScrapeParsable(t *testing.T) {
	exposeTypes(t)
	m := metrics.New(metrics.WithProcessMetrics())
	tr := subscriber.MustNew(storage.New(), m).Tracer("e2e")
	ctx := context.Background()
	span := func(metric string) {
		_, s := tr.Start(ctx, "op", slog.String("metric_name", metric))
		s.End()
	}

	span("ok")
	tr.Info(ctx, "e", slog.Int("counter.ok_duration_seconds_count", 1))           // gauge: its name is a histogram sample
	tr.Info(ctx, "e", slog.Int("histogram.ok_duration_seconds_count", 1))         // histogram: the same
	tr.Info(ctx, "e", slog.Int("monotonic_counter.ok_duration_seconds_count", 1)) // exposed as ..._count_total: no collision
	tr.Info(ctx, "e", slog.Int("monotonic_counter.ok", 1))                        // ok_total is the span metric's
	tr.Info(ctx, "e", slog.Int("counter.late_duration_seconds_sum", 2))           // first, then the span metric "late"
	span("late")
	if err := m.RegisterGauge(`work_duration_seconds_bucket{queue="a"}`, func() float64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	span("work")
	if err := m.RegisterGauge("ok_duration_seconds_sum", func() float64 { return 1 }); err == nil {
		t.Error("RegisterGauge(ok_duration_seconds_sum) = nil, want an error")
	}
	tr.Info(ctx, "e", slog.Int("counter.go_goroutines", 1)) // a process metric's name

	fams := scrapeAndParse(t, m)

	want := map[string]dto.MetricType{
		"ok_total":                        dto.MetricType_COUNTER,
		"ok_duration_seconds":             dto.MetricType_HISTOGRAM,
		"ok_duration_seconds_count_total": dto.MetricType_COUNTER,
		"late_duration_seconds_sum":       dto.MetricType_GAUGE,
		"work_duration_seconds_bucket":    dto.MetricType_GAUGE,
		"go_goroutines":                   dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		if f := fams[name]; f == nil || f.GetType() != typ {
			t.Errorf("%s: %v, want a %v family", name, f, typ)
		}
	}
	if n := len(fams["ok_total"].GetMetric()); n != 1 {
		t.Errorf("ok_total has %d series, want the span metric's only", n)
	}
	if c := fams["ok_duration_seconds"].GetMetric(); len(c) != 1 || c[0].GetHistogram().GetSampleCount() != 1 {
		t.Errorf("ok_duration_seconds: %v, want the span's one observation", c)
	}
	for _, name := range []string{"late_total", "late_duration_seconds", "work_total", "ok_duration_seconds_count_count"} {
		if fams[name] != nil {
			t.Errorf("%s exposed: it collides with an earlier family", name)
		}
	}
	dropped := map[string]float64{}
	for _, mt := range fams["strata_metrics_dropped_series_total"].GetMetric() {
		dropped[labelsOf(mt)["metric"]] = mt.GetCounter().GetValue()
	}
	wantDropped := map[string]float64{
		"ok_duration_seconds_count": 2, // the gauge and the histogram of that name
		"ok_total":                  1,
		"late":                      1,
		"work":                      1,
		"go_goroutines":             1,
	}
	if !maps.Equal(dropped, wantDropped) {
		t.Errorf("strata_metrics_dropped_series_total by metric = %v, want %v (families: %v)",
			dropped, wantDropped, slices.Sorted(maps.Keys(fams)))
	}
}
