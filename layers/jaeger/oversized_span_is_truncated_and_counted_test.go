package jaeger

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestOversizedSpanIsTruncatedAndCounted(t *testing.T) {
	ag := startAgent(t)
	const packet = 4096
	jl, err := New(WithAgent(ag.Addr()), WithMaxPacketSize(packet), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("big")

	// Many events: without its logs the span fits, with its tags.
	ctx, logs := tr.Start(context.Background(), "many-events", slog.String("otel.kind", "server"), slog.String("keep", "me"))
	for range 100 {
		tr.Info(ctx, "tick", slog.String("payload", strings.Repeat("e", 100)))
	}
	logs.End()
	// A huge field: without logs and tags.
	_, field := tr.Start(context.Background(), "huge-field", slog.String("blob", strings.Repeat("f", 3*packet)))
	field.EndErr(errFailed)
	// A small one beside them goes out whole.
	_, small := tr.Start(context.Background(), "small", slog.String("a", "b"))
	small.End()

	if err := jl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := ag.WaitSpans(t, 3)
	for _, dg := range ag.Datagrams() {
		if dg.Err != nil || dg.Size > packet {
			t.Fatalf("datagram of %d bytes (limit %d), decode error %v", dg.Size, packet, dg.Err)
		}
	}
	me := findSpan(t, spans, "many-events")
	if len(me.Logs) != 0 || tag(me.Tags, "strata.truncated") == nil || tag(me.Tags, "keep") == nil {
		t.Errorf("many-events: %d logs, tags %v; want no logs, its tags and strata.truncated", len(me.Logs), me.Tags)
	}
	hf := findSpan(t, spans, "huge-field")
	if tag(hf.Tags, "blob") != nil || tag(hf.Tags, "strata.truncated") == nil {
		t.Errorf("huge-field: tags %v; want no blob and strata.truncated", hf.Tags)
	}
	if tg := tag(hf.Tags, "error"); tg == nil || tg.VType != jaeger.TagType_BOOL || !tg.GetVBool() {
		t.Errorf("huge-field lost its error=true: %v", hf.Tags)
	}
	if hf.SpanId == 0 || hf.StartTime == 0 || hf.TraceIdLow == 0 {
		t.Errorf("huge-field lost its ids or times: %+v", hf)
	}
	sm := findSpan(t, spans, "small")
	if tag(sm.Tags, "strata.truncated") != nil || tag(sm.Tags, "a") == nil {
		t.Errorf("small was truncated: %v", sm.Tags)
	}
	st := jl.Stats()
	if st.Truncated != 2 || st.TooLarge != 0 || st.Sent != 3 {
		t.Errorf("stats %+v, want 2 truncated, 3 sent", st)
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
}

func TestSpanTooLargeEvenTruncatedIsDroppedAndCounted(t *testing.T) {
	ag := startAgent(t)
	const packet = 1024
	jl, err := New(WithAgent(ag.Addr()), WithMaxPacketSize(packet), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("big")
	_, huge := tr.Start(context.Background(), strings.Repeat("n", 2*packet))
	huge.End()
	_, ok := tr.Start(context.Background(), "fits")
	ok.End()
	// Flush says what it could not send.
	if err := jl.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Flush: %v, want it to report the span too large", err)
	}
	spans := ag.WaitSpans(t, 1)
	if len(spans) != 1 || spans[0].OperationName != "fits" {
		t.Fatalf("received %d spans, want only fits", len(spans))
	}
	st := jl.Stats()
	if st.TooLarge != 1 || st.Failed != 1 || st.Sent != 1 || st.Spans != 2 {
		t.Errorf("stats %+v, want 1 too large (failed), 1 sent", st)
	}
	if dg := ag.Datagrams(); dg[0].Batch.Stats.TooLargeDroppedSpans != 1 {
		t.Errorf("client stats %+v, want 1 too large", dg[0].Batch.Stats)
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
}

type failedErr struct{}

func (failedErr) Error() string { return "failed" }

var errFailed = failedErr{}
