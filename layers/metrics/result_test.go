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

func TestLabelsRecordedAfterStartCount(t *testing.T) {
	m, tr := setup(t)
	_, span := tr.Start(context.Background(), "late", slog.String("metric_name", "late_metric"), slog.Int("metric_label_shard", 3))
	span.Record(slog.Int("metric_label_shard", 4), slog.String("metric_label_zone", "eu"))
	span.End()
	got := scrape(t, m)
	if v := got[`late_metric_total{result="ok",shard="4",span_name="late",zone="eu"}`]; v != 1 {
		t.Errorf("late_metric_total with the newest label values = %v, want 1; got %v", v, got)
	}
	if n := countPrefix(got, "late_metric_total{"); n != 1 {
		t.Errorf("%d late_metric_total series, want 1 (the start labels alone make none)", n)
	}
}

func TestMetricNameRecordedAfterALabelAtStartCounts(t *testing.T) {
	m, tr := setup(t)
	_, span := tr.Start(context.Background(), "late", slog.String("metric_label_shard", "a"))
	span.Record(slog.String("metric_name", "late_metric"))
	span.End()
	if v := scrape(t, m)[`late_metric_total{result="ok",shard="a",span_name="late"}`]; v != 1 {
		t.Errorf("late_metric_total = %v, want 1: a metric_* field at start asks for metrics", v)
	}
}

func TestMetricNameRecordedAfterAStartWithoutMetricFieldsDoesNotCount(t *testing.T) {
	m, tr := setup(t)
	_, span := tr.Start(context.Background(), "late", slog.String("user", "alice"))
	span.Record(slog.String("metric_name", "late_metric"))
	span.End()
	if n := countPrefix(scrape(t, m), "late_metric"); n != 0 {
		t.Errorf("%d late_metric series, want none: the span asked for no metrics at start", n)
	}
}

// The same call site three times: the first span creates its series, the second
// memoizes its start fields, the third finds its series by them at start. A field
// recorded later must still win in each.
func TestMetricFieldsRecordedAfterAResolvedStartCount(t *testing.T) {
	m, tr := setup(t)
	for i := range 3 {
		_, span := tr.Start(context.Background(), "job", slog.String("metric_name", "job"), slog.String("metric_label_queue", "default"))
		span.Record(slog.Int("metric_label_attempt", i))
		if i == 2 {
			span.Record(slog.String("metric_name", "renamed_job"))
		}
		span.End()
	}
	got := scrape(t, m)
	for _, s := range []string{
		`job_total{attempt="0",queue="default",result="ok",span_name="job"}`,
		`job_total{attempt="1",queue="default",result="ok",span_name="job"}`,
		`renamed_job_total{attempt="2",queue="default",result="ok",span_name="job"}`,
	} {
		if got[s] != 1 {
			t.Errorf("%s = %v, want 1", s, got[s])
		}
	}
	if n := countPrefix(got, "job_total{") + countPrefix(got, "renamed_job_total{"); n != 3 {
		t.Errorf("%d series, want 3: %v", n, got)
	}
}
