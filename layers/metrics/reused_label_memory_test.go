package metrics_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"unsafe"
)

// A span's series are found by the addresses of its strings (see memo.go). A caller
// that makes label strings over a buffer it reuses (unsafe.String over a pooled []byte,
// as zero-copy HTTP servers do) passes the same address with other bytes: the layer must
// count the new bytes, not the series of the old ones.
func TestLabelMemoryReusedForOtherBytesIsNotMistakenForTheOldValue(t *testing.T) {
	m, tr := setup(t)
	buf := []byte("/songs")
	route := unsafe.String(&buf[0], len(buf))
	for range 3 { // creates the series, memoizes the call site, then finds it by address
		_, span := tr.Start(context.Background(), "request", slog.String("metric_name", "http"), slog.String("metric_label_route", route))
		span.End()
	}
	copy(buf, "/users")
	_, span := tr.Start(context.Background(), "request", slog.String("metric_name", "http"), slog.String("metric_label_route", route))
	span.End()

	got := scrape(t, m)
	if v := got[`http_total{result="ok",route="/songs",span_name="request"}`]; v != 3 {
		t.Errorf(`route="/songs" = %v, want 3`, v)
	}
	if v := got[`http_total{result="ok",route="/users",span_name="request"}`]; v != 1 {
		t.Errorf(`route="/users" = %v, want 1: %v`, v, got)
	}
}

// Equal strings at different addresses (built per call) share one series.
func TestLabelsBuiltPerCallShareTheirSeries(t *testing.T) {
	m, tr := setup(t)
	for i := range 50 {
		_, span := tr.Start(context.Background(), strings.Repeat("q", 1+i%2),
			slog.String("metric_name", strings.Clone("db_event")),
			slog.String("metric_label_db", strings.ToLower("POSTGRES")))
		span.End()
	}
	got := scrape(t, m)
	for _, s := range []string{
		`db_event_total{db="postgres",result="ok",span_name="q"}`,
		`db_event_total{db="postgres",result="ok",span_name="qq"}`,
	} {
		if got[s] != 25 {
			t.Errorf("%s = %v, want 25", s, got[s])
		}
	}
}
