package skywalking

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
)

// A collector that goes away and comes back at the same address: the log records
// logged meanwhile (within the queue) and the meter reports arrive once it is back,
// without a restart, and the properties are reported again to the new collector.
func TestLogsAndMetersResumeWhenTheCollectorReturns(t *testing.T) {
	col := oaptest.Start(t)
	addr := col.Addr()
	m := metrics.New()
	l, err := New(WithService("svc"), WithCollector(addr), WithMeters(m, 50*time.Millisecond), WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(m, l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	}()
	tr := d.Tracer("t")
	jobs, _ := m.NewCounter("jobs_total")
	tr.Warn(context.Background(), "before")
	col.WaitLogs(t, 1, 5*time.Second)
	col.WaitMeters(t, 1, 5*time.Second)
	col.Stop()

	for i := range 5 {
		tr.Warn(context.Background(), "while down", slog.Int("i", i))
	}
	jobs.Add(41)
	time.Sleep(200 * time.Millisecond) // a few meter periods fail
	back := oaptest.StartAt(t, addr)
	logs := back.WaitLogs(t, 5, 10*time.Second)
	for _, ld := range logs {
		if ld.GetBody().GetText().GetText() != "while down" {
			t.Errorf("unexpected record %v", ld)
		}
	}
	if !waitUntil(10*time.Second, func() bool {
		reports := meterReports(back.Meters())
		if len(reports) == 0 {
			return false
		}
		single, _ := byKey(reports[len(reports)-1])
		return single["jobs_total{}"] == 41
	}) {
		t.Errorf("no meter report with jobs_total 41 from the returned collector")
	}
	back.WaitProperties(t, 1, 10*time.Second)
	if st := l.Stats(); st.MeterReportsFailed == 0 {
		t.Errorf("stats %+v: want the reports while it was down counted failed", st)
	}
}
