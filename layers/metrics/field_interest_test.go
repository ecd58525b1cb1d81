package metrics_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// infoOnly lets INFO and above through, and says so, as a logfmt layer at info does.
type infoOnly struct{}

func (infoOnly) Enabled(m *subscriber.Metadata, _ subscriber.Scope) bool {
	return m.Level >= subscriber.LevelInfo
}
func (infoOnly) LevelHint() subscriber.Level { return subscriber.LevelInfo }

func TestLayerWantsMetricSpansAndEventsAtAnyLevelAndNothingElse(t *testing.T) {
	m := metrics.New()
	d := subscriber.MustNew(storage.New(), subscriber.WithFilter(nopLayer{}, infoOnly{}), m)
	tr := d.Tracer("test")
	ctx := context.Background()

	_, plain := tr.StartLevel(ctx, subscriber.LevelDebug, "plain", slog.String("user", "alice"))
	if plain.IsRecording() {
		t.Error("a DEBUG span without metric fields is recorded: the metrics layer lowered the level floor")
	}
	plain.End()

	ctx, span := tr.StartLevel(ctx, subscriber.LevelDebug, "db.query", slog.String("metric_name", "db_event"))
	tr.Debug(ctx, "rows", slog.Int("histogram.rows", 3))
	tr.Debug(ctx, "retry", slog.String("error", "timeout"))
	span.End()

	got := scrape(t, m)
	if v := got[`db_event_total{result="error",span_name="db.query"}`]; v != 1 {
		t.Errorf(`DEBUG span with metric_name and a DEBUG error event inside: result="error" = %v, want 1: %v`, v, got)
	}
	if v := got[`rows_count`]; v != 1 {
		t.Errorf("DEBUG event with histogram.rows: rows_count = %v, want 1", v)
	}
}
