package skywalking

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/subscriber"
)

// With the collector down, logging never waits for it: the records beyond the log
// queue are dropped and counted, in Stats and in Gauges, and Shutdown says what was
// not delivered by its deadline.
func TestLogRecordsToADeadCollectorAreDroppedAndCounted(t *testing.T) {
	l, err := New(WithService("svc"), WithCollector("127.0.0.1:1"), WithLogQueueSize(4), WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(l)
	tr := d.Tracer("t")
	start := time.Now()
	const n = 1000
	for i := range n {
		tr.Warn(context.Background(), "lost", slog.Int("i", i))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("%d events took %v with the collector down", n, took)
	}
	st := l.Stats()
	if st.LogRecords != n || st.LogRecordsDropped < n-4-200 || st.LogRecordsQueued > 4 {
		t.Errorf("stats %+v: want %d records, all but the queue (4) and one batch dropped", st, n)
	}
	if g := l.Gauges()["strata_skywalking_log_records_dropped_total"](); g != float64(st.LogRecordsDropped) {
		t.Errorf("dropped gauge %v, stats %d", g, st.LogRecordsDropped)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := d.Shutdown(ctx); err == nil {
		t.Error("Shutdown succeeded with the collector down and log records queued")
	}
	st = l.Stats()
	if st.LogRecordsSent != 0 || st.LogRecordsDropped+st.LogRecordsFailed != n || st.LogRecordsQueued != 0 {
		t.Errorf("after Shutdown: %+v, want every record dropped or failed", st)
	}
}

// With a live collector, Shutdown delivers every log record logged before it.
func TestShutdownLosesNoLogRecord(t *testing.T) {
	col := oaptest.Start(t)
	l, err := New(WithService("svc"), WithCollector(col.Addr()), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(l)
	tr := d.Tracer("t")
	const n = 2000
	for i := range n {
		ctx, sp := tr.Start(context.Background(), "op")
		tr.Warn(ctx, "kept", slog.Int("i", i))
		sp.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := len(col.Logs()); got != n {
		t.Errorf("collector has %d log records after Shutdown, want %d", got, n)
	}
	seen := make(map[string]bool, n)
	for _, ld := range col.Logs() {
		seen[logTags(ld)["i"]] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct records, want %d", len(seen), n)
	}
	if st := l.Stats(); st.LogRecordsSent != n || st.LogRecordsDropped != 0 || st.LogRecordsFailed != 0 {
		t.Errorf("stats %+v, want %d sent", st, n)
	}
}
