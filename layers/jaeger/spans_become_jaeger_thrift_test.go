package jaeger

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

func traceHex(s *jaeger.Span) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.TraceIdHigh))
	binary.BigEndian.PutUint64(b[8:], uint64(s.TraceIdLow))
	return hex.EncodeToString(b[:])
}

func TestSpansBecomeJaegerThrift(t *testing.T) {
	ag := startAgent(t)
	jl, err := New(WithAgent(ag.Addr()), WithService("songs"), WithTags(slog.String("env", "test"), slog.Int("shard", 3)), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	d, err := subscriber.New(storage.New(), logfmt.New(&out), jl)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Tracer("songs/api")

	ctx, root := tr.Start(context.Background(), "request", slog.String("otel.kind", "server"),
		slog.String("http.method", "GET"), slog.Int("http.status_code", 200), slog.Float64("ratio", 0.25),
		slog.Bool("cached", true), slog.Uint64("big", math.MaxUint64), slog.Duration("wait", 1500*time.Millisecond),
		slog.String("metric_name", "requests"))
	cctx, child := tr.Start(ctx, "db.query", slog.String("otel.kind", "client"))
	tr.Info(cctx, "rows fetched", slog.Int("rows", 42), slog.Bool("slow", false), slog.Float64("ms", 1.5))
	_, grand := tr.Start(cctx, "parse")
	grand.EndErr(errors.New("bad row"))
	child.End()
	task := tr.Go(ctx, "notify", func(context.Context) error { return nil }, slog.String("otel.kind", "producer"))
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()

	// A span continuing a remote trace: CHILD_OF the caller's span.
	remoteTrace := "4bf92f3577b34da6a3ce929d0e0e4736"
	rctx := subscriber.ContextWithRemote(context.Background(), &subscriber.RemoteParent{
		TraceID: registry.ParseTraceID(remoteTrace), SpanID: 0x00f067aa0ba902b7, Sampled: true})
	_, cont := tr.Start(rctx, "continued", slog.String("otel.kind", "consumer"))
	cont.End()

	ctxS, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctxS); err != nil {
		t.Fatal(err)
	}
	spans := ag.WaitSpans(t, 5)
	for _, dg := range ag.Datagrams() {
		if dg.Err != nil {
			t.Fatalf("a datagram did not decode: %v", dg.Err)
		}
		if dg.Name != "emitBatch" || dg.Type != thrift.ONEWAY {
			t.Errorf("message %q type %v, want emitBatch ONEWAY", dg.Name, dg.Type)
		}
		p := dg.Batch.Process
		if p.ServiceName != "songs" {
			t.Errorf("service %q, want songs", p.ServiceName)
		}
		if tg := tag(p.Tags, "env"); tg == nil || tg.GetVStr() != "test" {
			t.Errorf("process tag env: %v", tg)
		}
		if tg := tag(p.Tags, "shard"); tg == nil || tg.VType != jaeger.TagType_LONG || tg.GetVLong() != 3 {
			t.Errorf("process tag shard: %v", tg)
		}
		for _, k := range []string{"hostname", "ip", "jaeger.version"} {
			if tag(p.Tags, k) == nil {
				t.Errorf("process has no %s tag", k)
			}
		}
	}

	ids := logfmtTraceIDs(out.String())
	req, db, parse, notify, cont2 := findSpan(t, spans, "request"), findSpan(t, spans, "db.query"), findSpan(t, spans, "parse"), findSpan(t, spans, "notify"), findSpan(t, spans, "continued")
	for _, s := range []*jaeger.Span{req, db, parse, notify, cont2} {
		if got, want := traceHex(s), ids[s.OperationName]; got != want {
			t.Errorf("%s: trace id %s, logfmt says %s", s.OperationName, got, want)
		}
	}
	if traceHex(cont2) != remoteTrace {
		t.Errorf("continued span's trace %s, want the caller's %s", traceHex(cont2), remoteTrace)
	}

	// Parents and references.
	if req.ParentSpanId != 0 || len(req.References) != 0 {
		t.Errorf("root: parent %x, refs %v", req.ParentSpanId, req.References)
	}
	wantChild := func(s, parent *jaeger.Span) {
		t.Helper()
		if s.ParentSpanId != parent.SpanId {
			t.Errorf("%s: parent %x, want %x", s.OperationName, s.ParentSpanId, parent.SpanId)
		}
		if len(s.References) != 1 || s.References[0].RefType != jaeger.SpanRefType_CHILD_OF || s.References[0].SpanId != parent.SpanId ||
			s.References[0].TraceIdHigh != s.TraceIdHigh || s.References[0].TraceIdLow != s.TraceIdLow {
			t.Errorf("%s: references %v, want CHILD_OF %x", s.OperationName, s.References, parent.SpanId)
		}
	}
	wantChild(db, req)
	wantChild(parse, db)
	if notify.ParentSpanId != 0 || len(notify.References) != 1 || notify.References[0].RefType != jaeger.SpanRefType_FOLLOWS_FROM ||
		notify.References[0].SpanId != req.SpanId || notify.References[0].TraceIdLow != req.TraceIdLow {
		t.Errorf("notify: parent %x refs %v, want only FOLLOWS_FROM %x", notify.ParentSpanId, notify.References, req.SpanId)
	}
	if cont2.ParentSpanId != 0x00f067aa0ba902b7 || len(cont2.References) != 1 || cont2.References[0].RefType != jaeger.SpanRefType_CHILD_OF ||
		cont2.References[0].SpanId != 0x00f067aa0ba902b7 {
		t.Errorf("continued: parent %x refs %v, want CHILD_OF the remote span", cont2.ParentSpanId, cont2.References)
	}

	// Kinds.
	for s, want := range map[*jaeger.Span]string{req: "server", db: "client", notify: "producer", cont2: "consumer"} {
		if tg := tag(s.Tags, "span.kind"); tg == nil || tg.GetVStr() != want {
			t.Errorf("%s: span.kind %v, want %s", s.OperationName, tg, want)
		}
	}
	if tag(parse.Tags, "span.kind") != nil {
		t.Errorf("parse has a span.kind without otel.kind")
	}

	// Error: error=true, status code and description; the others have no error tag.
	if tg := tag(parse.Tags, "error"); tg == nil || tg.VType != jaeger.TagType_BOOL || !tg.GetVBool() {
		t.Errorf("parse: error tag %v, want BOOL true", tg)
	}
	if tg := tag(parse.Tags, "otel.status_code"); tg == nil || tg.GetVStr() != "ERROR" {
		t.Errorf("parse: otel.status_code %v", tg)
	}
	if tg := tag(parse.Tags, "otel.status_description"); tg == nil || tg.GetVStr() != "bad row" {
		t.Errorf("parse: otel.status_description %v", tg)
	}
	for _, s := range []*jaeger.Span{req, db, notify} {
		if tag(s.Tags, "error") != nil {
			t.Errorf("%s has an error tag", s.OperationName)
		}
	}

	// Typed tags; internal fields left out; scope from the target.
	type want struct {
		typ jaeger.TagType
		v   string
	}
	for k, w := range map[string]want{
		"http.method":      {jaeger.TagType_STRING, "GET"},
		"http.status_code": {jaeger.TagType_LONG, "200"},
		"ratio":            {jaeger.TagType_DOUBLE, "0.25"},
		"cached":           {jaeger.TagType_BOOL, "true"},
		"big":              {jaeger.TagType_STRING, "18446744073709551615"},
		"wait":             {jaeger.TagType_STRING, "1.5s"},
		"otel.scope.name":  {jaeger.TagType_STRING, "songs/api"},
	} {
		tg := tag(req.Tags, k)
		if tg == nil {
			t.Errorf("request: no tag %s", k)
			continue
		}
		if tg.VType != w.typ || tagText(tg) != w.v {
			t.Errorf("request: tag %s = %v %s, want %v %s", k, tg.VType, tagText(tg), w.typ, w.v)
		}
	}
	for _, k := range []string{"otel.kind", "metric_name"} {
		if tag(req.Tags, k) != nil {
			t.Errorf("request carries the internal field %s", k)
		}
	}

	// Times in microseconds.
	if req.StartTime <= 0 || req.Duration < 0 || db.StartTime < req.StartTime || db.StartTime+db.Duration > req.StartTime+req.Duration {
		t.Errorf("times: request %d+%d, db %d+%d", req.StartTime, req.Duration, db.StartTime, db.Duration)
	}
	if now := time.Now().UnixMicro(); req.StartTime > now || req.StartTime < now-int64(time.Minute/time.Microsecond) {
		t.Errorf("request start %d is not in microseconds around now (%d)", req.StartTime, now)
	}

	// The event is a log with event, level and typed fields.
	if len(db.Logs) != 1 {
		t.Fatalf("db.query: %d logs, want 1", len(db.Logs))
	}
	lg := db.Logs[0]
	if lg.Timestamp < db.StartTime || lg.Timestamp > db.StartTime+db.Duration {
		t.Errorf("log at %d outside the span %d+%d", lg.Timestamp, db.StartTime, db.Duration)
	}
	for k, w := range map[string]want{
		"event": {jaeger.TagType_STRING, "rows fetched"},
		"level": {jaeger.TagType_STRING, "INFO"},
		"rows":  {jaeger.TagType_LONG, "42"},
		"slow":  {jaeger.TagType_BOOL, "false"},
		"ms":    {jaeger.TagType_DOUBLE, "1.5"},
	} {
		tg := tag(lg.Fields, k)
		if tg == nil || tg.VType != w.typ || tagText(tg) != w.v {
			t.Errorf("log field %s = %v, want %v %s", k, tg, w.typ, w.v)
		}
	}

	st := jl.Stats()
	if st.Spans != 5 || st.Sent != 5 || st.Failed != 0 || st.Dropped != 0 || st.Datagrams == 0 {
		t.Errorf("stats %+v, want 5 spans sent", st)
	}
}

func tagText(t *jaeger.Tag) string {
	switch t.VType {
	case jaeger.TagType_STRING:
		return t.GetVStr()
	case jaeger.TagType_LONG:
		return fmt.Sprint(t.GetVLong())
	case jaeger.TagType_DOUBLE:
		return fmt.Sprint(t.GetVDouble())
	case jaeger.TagType_BOOL:
		return fmt.Sprint(t.GetVBool())
	}
	return "?"
}
