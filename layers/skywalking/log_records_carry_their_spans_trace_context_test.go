package skywalking

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
)

// logTags returns a log record's tags as a map.
func logTags(ld *logv3.LogData) map[string]string {
	m := map[string]string{}
	for _, kv := range ld.GetTags().GetData() {
		m[kv.Key] = kv.Value
	}
	return m
}

// logWithBody returns the log record whose text body is msg.
func logWithBody(t testing.TB, logs []*logv3.LogData, msg string) *logv3.LogData {
	t.Helper()
	for _, ld := range logs {
		if ld.GetBody().GetText().GetText() == msg {
			return ld
		}
	}
	t.Fatalf("no log record %q among %d", msg, len(logs))
	return nil
}

// Through a real gRPC collector: a WARN event inside a span (through the tracer or the
// slog bridge) arrives as a log record whose trace context names the trace, the
// segment that carries the span and the span's index in it, with the segment's entry
// endpoint; an event outside any span has no trace context; an INFO event is not
// reported (the default filter); every call carries the token.
func TestLogRecordsCarryTheTraceContextOfTheirSpan(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("secret")
	l, err := New(WithService("songs"), WithInstance("songs-1"), WithCollector(col.Addr()),
		WithAuthentication("secret"), WithLayer("GENERAL"), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), l)
	tr := d.Tracer("songs/db")
	log := slog.New(d.SlogHandler("songs/slog"))

	ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"))
	cctx, child := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
	tr.Warn(cctx, "slow query", slog.Int("rows", 3), slog.String("table", "songs"))
	log.ErrorContext(ctx, "from slog", "user", "ann")
	tr.Info(cctx, "not reported at info")
	child.End()
	root.End()
	tr.Warn(context.Background(), "outside any span")

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	segs := col.WaitSegments(t, 1, 5*time.Second)
	logs := col.WaitLogs(t, 3, 5*time.Second)
	if len(logs) != 3 {
		t.Fatalf("%d log records, want 3 (the INFO one filtered out)", len(logs))
	}
	seg := segs[0]
	childIdx := spanNamed(t, seg, "db.query").SpanId
	rootIdx := spanNamed(t, seg, "GET /songs").SpanId

	slow := logWithBody(t, logs, "slow query")
	tc := slow.GetTraceContext()
	if tc == nil || tc.TraceId != seg.TraceId || tc.TraceSegmentId != seg.TraceSegmentId || tc.SpanId != childIdx {
		t.Errorf("trace context %v, want trace %s segment %s span %d", tc, seg.TraceId, seg.TraceSegmentId, childIdx)
	}
	if slow.Service != "songs" || slow.ServiceInstance != "songs-1" || slow.Endpoint != "GET /songs" || slow.Layer != "GENERAL" {
		t.Errorf("record %v: want service songs, instance songs-1, endpoint GET /songs, layer GENERAL", slow)
	}
	if got := logTags(slow); got["level"] != "warn" || got["target"] != "songs/db" || got["rows"] != "3" || got["table"] != "songs" {
		t.Errorf("tags %v", got)
	}
	if d := time.Since(time.UnixMilli(slow.Timestamp)); d < 0 || d > time.Minute {
		t.Errorf("timestamp %d is not the event's time in ms", slow.Timestamp)
	}

	fromSlog := logWithBody(t, logs, "from slog")
	if tc := fromSlog.GetTraceContext(); tc == nil || tc.TraceSegmentId != seg.TraceSegmentId || tc.SpanId != rootIdx {
		t.Errorf("slog record trace context %v, want segment %s span %d", tc, seg.TraceSegmentId, rootIdx)
	}
	if got := logTags(fromSlog); got["level"] != "error" || got["user"] != "ann" || got["target"] != "songs/slog" {
		t.Errorf("slog record tags %v", got)
	}

	outside := logWithBody(t, logs, "outside any span")
	if outside.TraceContext != nil || outside.Endpoint != "" {
		t.Errorf("a record outside any span has trace context %v, endpoint %q", outside.TraceContext, outside.Endpoint)
	}

	sawLogCall := false
	for _, c := range col.Calls() {
		if c.Token != "secret" {
			t.Errorf("%s carried authentication %q, want secret", c.Method, c.Token)
		}
		sawLogCall = sawLogCall || c.Method == oaptest.MethodCollectLogs
	}
	if !sawLogCall {
		t.Error("no LogReportService.collect call")
	}
	if st := l.Stats(); st.LogRecords != 3 || st.LogRecordsSent != 3 || st.LogRecordsDropped != 0 || st.LogRecordsFailed != 0 {
		t.Errorf("stats %+v, want 3 log records sent", st)
	}
	// The span logs are unchanged: the child keeps both of its events, INFO included.
	if n := len(spanNamed(t, seg, "db.query").Logs); n != 2 {
		t.Errorf("the child span has %d logs, want 2", n)
	}
}
