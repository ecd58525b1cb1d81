package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

func TestResultIsErrorForEndErrAndErrorFieldAndOkOtherwise(t *testing.T) {
	m, tr := setup(t)
	ctx := context.Background()

	_, s1 := tr.Start(ctx, "a", slog.String("metric_name", "job"))
	s1.EndErr(errors.New("failed"))
	_, s2 := tr.Start(ctx, "a", slog.String("metric_name", "job"))
	s2.Record(slog.String("error", "recorded"))
	s2.End()
	_, s3 := tr.Start(ctx, "a", slog.String("metric_name", "job"))
	s3.EndErr(nil)
	_, s4 := tr.Start(ctx, "a", slog.String("metric_name", "job"), slog.Any("error", nil))
	s4.End()

	got := scrape(t, m)
	if v := got[`job_total{result="error",span_name="a"}`]; v != 2 {
		t.Errorf(`result="error" = %v, want 2`, v)
	}
	if v := got[`job_total{result="ok",span_name="a"}`]; v != 2 {
		t.Errorf(`result="ok" = %v, want 2`, v)
	}
}

func TestMetricFieldsRecordedAfterStartCount(t *testing.T) {
	m, tr := setup(t)
	_, span := tr.Start(context.Background(), "late")
	span.Record(slog.String("metric_name", "late_metric"), slog.Int("metric_label_shard", 3))
	span.Record(slog.Int("metric_label_shard", 4))
	span.End()
	got := scrape(t, m)
	if v := got[`late_metric_total{result="ok",shard="4",span_name="late"}`]; v != 1 {
		t.Errorf("late_metric_total with the newest label value = %v, want 1; got %v", v, got)
	}
}
