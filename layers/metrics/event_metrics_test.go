package metrics_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/metrics"
)

func TestEventFieldsUpdateCountersGaugesAndHistograms(t *testing.T) {
	m, tr := setup(t, metrics.WithEventBuckets(1, 10))
	ctx := context.Background()
	tr.Info(ctx, "hit", slog.Int("monotonic_counter.cache_hits", 2), slog.String("cache", "songs"))
	tr.Info(ctx, "hit", slog.String("cache", "songs"), slog.Uint64("monotonic_counter.cache_hits", 3))
	tr.Info(ctx, "hit", slog.Int("monotonic_counter.cache_hits", -5), slog.String("cache", "songs"))     // ignored: monotonic
	tr.Info(ctx, "hit", slog.String("monotonic_counter.cache_hits", "7"), slog.String("cache", "songs")) // ignored: not a number
	tr.Info(ctx, "conn", slog.Int("counter.open_connections", 3))
	tr.Info(ctx, "conn", slog.Int("counter.open_connections", -1))
	tr.Info(ctx, "payload", slog.Float64("histogram.payload_kb", 0.5), slog.Float64("counter.inflight", 1.5))
	tr.Info(ctx, "payload", slog.Float64("histogram.payload_kb", 5))
	tr.Info(ctx, "latency", slog.Duration("histogram.wait_seconds", 1500*time.Millisecond))
	tr.Info(ctx, "plain event", slog.String("cache", "songs")) // no metric

	got := scrape(t, m)
	want := map[string]float64{
		`cache_hits_total{cache="songs"}`:      5,
		`open_connections`:                     2,
		`inflight`:                             1.5,
		`payload_kb_bucket{le="1"}`:            1,
		`payload_kb_bucket{le="10"}`:           2,
		`payload_kb_bucket{le="+Inf"}`:         2,
		`payload_kb_count`:                     2,
		`payload_kb_sum`:                       5.5,
		`wait_seconds_sum`:                     1.5,
		`strata_metrics_dropped_metrics_total`: 0,
	}
	for s, v := range want {
		if g, ok := got[s]; !ok || g != v {
			t.Errorf("%s = %v (exposed: %v), want %v", s, g, ok, v)
		}
	}
	if n := countPrefix(got, "cache_hits_total"); n != 1 {
		t.Errorf("%d cache_hits_total series, want 1 (field order does not matter)", n)
	}
}

func TestEventMetricTypeClashIsDroppedNotExposedTwice(t *testing.T) {
	m, tr := setup(t)
	ctx := context.Background()
	tr.Info(ctx, "a", slog.Int("counter.queue", 1))   // gauge "queue"
	tr.Info(ctx, "b", slog.Int("histogram.queue", 1)) // histogram "queue": clashes
	got := scrape(t, m)
	if got["queue"] != 1 {
		t.Errorf("queue = %v, want 1", got["queue"])
	}
	if _, ok := got["queue_count"]; ok {
		t.Error("queue exposed as a histogram too")
	}
	if got[`strata_metrics_dropped_series_total{metric="queue"}`] != 1 {
		t.Errorf("clash not counted as dropped: %v", got)
	}
}
