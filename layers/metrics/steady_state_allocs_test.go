package metrics_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
)

// closeProbe runs fn in its own OnClose, after the metrics layer's, while the span is
// still readable: the way to call the metrics layer's OnClose on a real span again.
type closeProbe struct{ fn func(span subscriber.SpanRef) }

func (p *closeProbe) OnClose(span subscriber.SpanRef) { p.fn(span) }

func TestSteadyStateCloseAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := metrics.New()
	var allocs float64
	probe := &closeProbe{fn: func(span subscriber.SpanRef) {
		// The metrics layer's own OnClose just saw this label set: it is warm.
		allocs = testing.AllocsPerRun(1000, func() { m.OnClose(span) })
	}}
	d := subscriber.MustNew(m, probe)
	_, span := d.Tracer("test").Start(context.Background(), "db.query",
		slog.String("metric_name", "db_event"),
		slog.String("metric_label_db", "postgres"),
		slog.Int("metric_label_shard", 7),
		slog.Bool("metric_label_cached", false))
	span.End()
	if allocs != 0 {
		t.Errorf("OnClose allocates %v times per close in steady state, want 0", allocs)
	}
	got := scrape(t, m)
	if v := got[`db_event_total{cached="false",db="postgres",result="ok",shard="7",span_name="db.query"}`]; v != 1002 {
		t.Errorf("count = %v, want 1002 (the close, the warm-up run and 1000 runs)", v)
	}
}

func TestSteadyStateEventMetricAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := metrics.New()
	ev := &subscriber.Event{Attrs: []slog.Attr{
		slog.String("cache", "songs"),
		slog.Int("monotonic_counter.cache_hits", 1),
		slog.Float64("histogram.payload_kb", 3.5),
	}}
	m.OnEvent(ev)
	if allocs := testing.AllocsPerRun(1000, func() { m.OnEvent(ev) }); allocs != 0 {
		t.Errorf("OnEvent allocates %v times in steady state, want 0", allocs)
	}
}
