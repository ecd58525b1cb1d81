package metrics_test

import (
	"context"
	"log/slog"
	"testing"
)

type codeError struct{ code int }

func (e *codeError) Error() string { return "code" }

func TestNilAndEmptyErrorValuesAreNoFailure(t *testing.T) {
	m, tr := setup(t)
	ctx := context.Background()
	var typedNil *codeError
	for _, v := range []slog.Value{
		slog.AnyValue(nil),
		slog.StringValue(""),
		slog.AnyValue(error(typedNil)),
		slog.AnyValue(typedNil),
	} {
		_, atStart := tr.Start(ctx, "op", slog.String("metric_name", "job"), slog.Attr{Key: "error", Value: v})
		atStart.End()
		_, recorded := tr.Start(ctx, "op", slog.String("metric_name", "job"))
		recorded.Record(slog.Attr{Key: "error", Value: v})
		recorded.End()
	}
	_, failed := tr.Start(ctx, "op", slog.String("metric_name", "job"), slog.Any("error", &codeError{503}))
	failed.End()

	got := scrape(t, m)
	if v := got[`job_total{result="ok",span_name="op"}`]; v != 8 {
		t.Errorf(`result="ok" = %v, want 8: %v`, v, got)
	}
	if v := got[`job_total{result="error",span_name="op"}`]; v != 1 {
		t.Errorf(`result="error" = %v, want 1 (an actual error)`, v)
	}
}
