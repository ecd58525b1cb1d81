package metrics_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestErrorEventInsideSpanMakesResultErrorWithStorage(t *testing.T) {
	m := metrics.New()
	tr := subscriber.MustNew(storage.New(), m).Tracer("test")
	ctx, span := tr.Start(context.Background(), "vendor.call", slog.String("metric_name", "vendor_call"))
	tr.Error(ctx, "vendor refused", slog.String("error.message", "429 Too Many Requests"))
	span.End()
	_, ok := tr.Start(context.Background(), "vendor.call", slog.String("metric_name", "vendor_call"))
	ok.End()

	got := scrape(t, m)
	if v := got[`vendor_call_total{result="error",span_name="vendor.call"}`]; v != 1 {
		t.Errorf(`result="error" = %v, want 1: %v`, v, got)
	}
	if v := got[`vendor_call_total{result="ok",span_name="vendor.call"}`]; v != 1 {
		t.Errorf(`result="ok" = %v, want 1`, v)
	}
}
