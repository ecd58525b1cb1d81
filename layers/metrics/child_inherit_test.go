package metrics_test

import (
	"context"
	"log/slog"
	"testing"
)

func TestChildDoesNotInheritItsParentsMetric(t *testing.T) {
	m, tr := setup(t)
	ctx, parent := tr.Start(context.Background(), "request",
		slog.String("metric_name", "http_request"),
		slog.String("metric_label_route", "/songs"))
	_, plain := tr.Start(ctx, "child.plain")
	plain.End()
	_, own := tr.Start(ctx, "child.own", slog.String("metric_name", "db_event"))
	own.End()
	parent.End()

	got := scrape(t, m)
	want := map[string]float64{
		`http_request_total{result="ok",route="/songs",span_name="request"}`: 1,
		`db_event_total{result="ok",span_name="child.own"}`:                  1,
	}
	for s, n := range want {
		if got[s] != n {
			t.Errorf("%s = %v, want %v", s, got[s], n)
		}
	}
	if n := countPrefix(got, "http_request_total"); n != 1 {
		t.Errorf("%d http_request_total series, want 1 (the parent's only)", n)
	}
	if n := countPrefix(got, "db_event_total"); n != 1 {
		t.Errorf("%d db_event_total series, want 1 (without the parent's route label)", n)
	}
}
