package metrics_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
)

func TestCardinalityCapHoldsAndItsExcessIsCounted(t *testing.T) {
	m, tr := setup(t, metrics.WithMaxSeries(10))
	for i := range 25 {
		for range 2 { // a dropped label set stays dropped, and is counted each time
			_, span := tr.Start(context.Background(), "lookup",
				slog.String("metric_name", "user_lookup"),
				slog.String("metric_label_user", strconv.Itoa(i)))
			span.End()
		}
	}
	got := scrape(t, m)
	if n := countPrefix(got, "user_lookup_total{"); n != 10 {
		t.Errorf("%d label sets of user_lookup_total, want the cap, 10", n)
	}
	if n := countPrefix(got, "user_lookup_duration_seconds_count{"); n != 10 {
		t.Errorf("%d label sets of user_lookup_duration_seconds, want the cap, 10", n)
	}
	if d := got[`strata_metrics_dropped_series_total{metric="user_lookup"}`]; d != 30 {
		t.Errorf("dropped = %v, want 30 (15 label sets, twice each)", d)
	}
	// The label sets admitted before the cap keep counting.
	for i := range 10 {
		s := `user_lookup_total{result="ok",span_name="lookup",user="` + strconv.Itoa(i) + `"}`
		if got[s] != 2 {
			t.Errorf("%s = %v, want 2", s, got[s])
		}
	}
}

func TestMetricNameCapHoldsAndItsExcessIsCounted(t *testing.T) {
	m, tr := setup(t, metrics.WithMaxMetrics(3))
	for i := range 5 {
		_, span := tr.Start(context.Background(), "op", slog.String("metric_name", "m"+strconv.Itoa(i)))
		span.End()
	}
	got := scrape(t, m)
	if n := countPrefix(got, "m"); n != 3*(1+1+1+len(metrics.DefaultBuckets)+1) {
		t.Errorf("%d series of metrics m*, want those of 3 metrics", n)
	}
	if d := got["strata_metrics_dropped_metrics_total"]; d != 2 {
		t.Errorf("strata_metrics_dropped_metrics_total = %v, want 2", d)
	}
}
