package logfmt_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"strconv"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// rawParent is a propagator that continues a trace whose id is not 128-bit hex.
type rawParent string

func (r rawParent) Extract(subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	return &subscriber.RemoteParent{TraceID: registry.ParseTraceID(string(r)), Sampled: true, SpanID: 7, Propagator: "raw"}, true
}

func (rawParent) Inject(subscriber.SpanRef, subscriber.Carrier) {}

// ddLower is the decimal lower half of the 128-bit form of a trace id.
func ddLower(id registry.TraceID) string {
	b, _ := id.Bytes128()
	return strconv.FormatUint(binary.BigEndian.Uint64(b[8:]), 10)
}

// With WithDatadog, every line inside a span carries dd.trace_id (the decimal lower 64
// bits of the trace_id the line shows) and dd.span_id (its span= value), every line
// carries dd.service, dd.env and dd.version, lines decode, and no key is written twice:
// a field named like a dd key is written as fields.<key>.
func TestWithDatadogCorrelatesLines(t *testing.T) {
	var buf syncBuffer
	d := mustNew(t, storage.New(), logfmt.New(&buf, logfmt.WithDatadog("songs api", "prod", "1.2.3"), logfmt.WithoutTimestamp()))
	tr := d.Tracer("test")

	ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("dd.env", "field"))
	cctx, child := tr.Start(ctx, "db")
	tr.Info(cctx, "queried", slog.String("dd.trace_id", "mine"), slog.Int("rows", 2))
	child.End()
	root.End()
	tr.Info(context.Background(), "outside")

	lines := decode(t, buf.Bytes())
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6 (2 spans × 2, 2 events):\n%s", len(lines), buf.String())
	}
	for i, l := range lines[:5] {
		traceHex := l.must(t, "trace_id")
		lo, err := strconv.ParseUint(traceHex[16:], 16, 64)
		if err != nil || len(traceHex) != 32 {
			t.Fatalf("line %d: trace_id %q", i, traceHex)
		}
		if got := l.must(t, "dd.trace_id"); got != strconv.FormatUint(lo, 10) {
			t.Errorf("line %d: dd.trace_id %s, want %d (the lower half of %s)", i, got, lo, traceHex)
		}
		if got, want := l.must(t, "dd.span_id"), l.must(t, "span"); got != want {
			t.Errorf("line %d: dd.span_id %s, want the span's %s", i, got, want)
		}
		if l.must(t, "dd.service") != "songs api" || l.must(t, "dd.env") != "prod" || l.must(t, "dd.version") != "1.2.3" {
			t.Errorf("line %d: %v", i, l)
		}
	}
	// The event's own field and the span's field keep their values under fields.<key>.
	ev := lines[2]
	if ev.must(t, "msg") != "queried" || ev.must(t, "fields.dd.trace_id") != "mine" || ev.must(t, "fields.dd.env") != "field" {
		t.Errorf("event line %v, want the fields under fields.dd.*", ev)
	}
	out := lines[5]
	if out.must(t, "msg") != "outside" || out.must(t, "dd.service") != "songs api" {
		t.Errorf("line outside spans: %v", out)
	}
	for _, k := range []string{"dd.trace_id", "dd.span_id", "trace_id"} {
		if _, ok := out.get(t, k); ok {
			t.Errorf("line outside spans has %s: %v", k, out)
		}
	}
}

// Empty service, env or version are left out; a trace continued with an id that is not
// 128-bit hex gets the dd.trace_id of the id the Datadog exporter writes for it.
func TestWithDatadogLeavesOutEmptyTagsAndMapsUpstreamIDs(t *testing.T) {
	var buf syncBuffer
	d := mustNew(t, storage.New(), rawParent("a1b2c3.45.16801234560001"),
		logfmt.New(&buf, logfmt.WithDatadog("", "staging", ""), logfmt.WithSpanEvents(logfmt.SpanNone)))
	tr := d.Tracer("test")
	ctx := d.Extract(context.Background(), subscriber.MapCarrier{})
	ctx, s := tr.Start(ctx, "entry")
	tr.Warn(ctx, "hello")
	s.End()

	lines := decode(t, buf.Bytes())
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	l := lines[0]
	if l.must(t, "trace_id") != "a1b2c3.45.16801234560001" {
		t.Errorf("trace_id %q, want the upstream id", l.must(t, "trace_id"))
	}
	if got, want := l.must(t, "dd.trace_id"), ddLower(registry.ParseTraceID("a1b2c3.45.16801234560001")); got != want {
		t.Errorf("dd.trace_id %s, want %s", got, want)
	}
	if l.must(t, "dd.env") != "staging" {
		t.Errorf("dd.env %q", l.must(t, "dd.env"))
	}
	for _, k := range []string{"dd.service", "dd.version"} {
		if _, ok := l.get(t, k); ok {
			t.Errorf("empty %s written: %v", k, l)
		}
	}
}

// Without the option, no dd key is written.
func TestWithoutDatadogNoDDKeys(t *testing.T) {
	var buf syncBuffer
	d := mustNew(t, storage.New(), logfmt.New(&buf))
	tr := d.Tracer("test")
	ctx, s := tr.Start(context.Background(), "x")
	tr.Info(ctx, "e")
	s.End()
	for _, l := range decode(t, buf.Bytes()) {
		for _, k := range l.keys() {
			if len(k) > 3 && k[:3] == "dd." {
				t.Errorf("key %s without WithDatadog: %v", k, l)
			}
		}
	}
}
