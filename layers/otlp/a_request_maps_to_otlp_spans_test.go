package otlp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/spanexport"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

type point struct{ X, Y int }

// A request of nested spans, events, a task and fields of every kind reaches the
// collector as OTLP spans of one trace, with their parents, kinds, statuses, events,
// links and typed attributes, grouped by target under one resource.
func TestARequestMapsToOTLPSpans(t *testing.T) {
	col := startCollector(t)
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure(), WithService("songs"),
		WithResource(slog.String("deployment.environment.name", "test"), slog.Int("shard", 3)))
	d := compose(t, l)
	api, db := d.Tracer("songs/api"), d.Tracer("songs/db")

	at := time.Date(2026, 11, 22, 4, 5, 6, 789, time.UTC)
	ctx, root := api.Start(context.Background(), "GET /songs",
		slog.String("otel.kind", "server"), slog.String("http.route", "/songs"),
		slog.String("metric_name", "http_request"), slog.String("otel.status_code", "ok"))
	cctx, child := db.Start(ctx, "db.query",
		slog.String("otel.kind", "client"),
		slog.Int("rows", 42),
		slog.Uint64("small", 7),
		slog.Uint64("huge", math.MaxUint64),
		slog.Float64("ratio", 0.25),
		slog.Bool("cached", true),
		slog.Duration("budget", 1500*time.Millisecond),
		slog.Time("since", at),
		slog.Any("point", point{1, 2}),
		slog.String("bad", "a\xffb"),
	)
	db.Info(cctx, "query sent", slog.Int("attempt", 2), slog.Bool("retry", false))
	childID := child.ID()
	_, grand := db.Start(cctx, "db.decode", slog.String("otel.kind", "producer"))
	grand.EndErr(errors.New("corrupt row 7"))
	child.End()
	tid, rootID := root.TraceID(), root.ID() // before End: an ended handle is inert
	task := api.Go(ctx, "refresh.cache", func(context.Context) error { return nil }, slog.String("otel.kind", "consumer"))
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	flush(t, l)

	reqs := col.requests()
	spans := spansOf(reqs)
	if len(spans) != 4 {
		t.Fatalf("got %d spans, want 4", len(spans))
	}
	// One resource per request, with the service and the SDK.
	for _, r := range reqs {
		if len(r.ResourceSpans) != 1 {
			t.Fatalf("%d ResourceSpans in a request, want 1", len(r.ResourceSpans))
		}
		res := attrMap(r.ResourceSpans[0].Resource.Attributes)
		for k, want := range map[string]string{
			"service.name": "songs", "telemetry.sdk.name": "strata", "telemetry.sdk.language": "go",
			"telemetry.sdk.version": SDKVersion, "deployment.environment.name": "test",
		} {
			if got := res[k].GetStringValue(); got != want {
				t.Errorf("resource %s = %q, want %q", k, got, want)
			}
		}
		if got := res["shard"].GetIntValue(); got != 3 {
			t.Errorf("resource shard = %v, want int 3", res["shard"])
		}
		// Scopes name the targets, each once per request.
		seen := map[string]bool{}
		for _, ss := range r.ResourceSpans[0].ScopeSpans {
			if seen[ss.Scope.Name] {
				t.Errorf("scope %q twice in one request", ss.Scope.Name)
			}
			seen[ss.Scope.Name] = true
			for _, s := range ss.Spans {
				want := "songs/db"
				if s.Name == "GET /songs" || s.Name == "refresh.cache" {
					want = "songs/api"
				}
				if ss.Scope.Name != want {
					t.Errorf("span %q in scope %q, want %q", s.Name, ss.Scope.Name, want)
				}
			}
		}
	}

	by := byName(spans)
	rs, cs, gs, ts := by["GET /songs"], by["db.query"], by["db.decode"], by["refresh.cache"]
	if rs == nil || cs == nil || gs == nil || ts == nil {
		t.Fatalf("spans: %v", by)
	}
	want, ok := tid.Bytes()
	if !ok {
		t.Fatalf("trace id %v is not 128-bit", tid)
	}
	for _, s := range spans {
		if !bytes.Equal(s.TraceId, want[:]) {
			t.Errorf("%s: trace id %x, want %x", s.Name, s.TraceId, want)
		}
		if len(s.SpanId) != 8 || s.StartTimeUnixNano == 0 || s.EndTimeUnixNano < s.StartTimeUnixNano {
			t.Errorf("%s: span id %x, times %d..%d", s.Name, s.SpanId, s.StartTimeUnixNano, s.EndTimeUnixNano)
		}
		if s.Flags&flagHasIsRemote == 0 || s.Flags&flagIsRemote != 0 || s.Flags&flagSampled == 0 {
			t.Errorf("%s: flags %#x, want sampled, has-is-remote, not remote", s.Name, s.Flags)
		}
	}
	if !bytes.Equal(rs.SpanId, spanIDBytes(uint64(rootID))) || !bytes.Equal(cs.SpanId, spanIDBytes(uint64(childID))) {
		t.Errorf("span ids %x %x, want %x %x", rs.SpanId, cs.SpanId, uint64(rootID), uint64(childID))
	}
	// Parents. The task follows from the root without being its child: it is linked.
	if len(rs.ParentSpanId) != 0 || len(ts.ParentSpanId) != 0 {
		t.Errorf("root has parent %x, task %x", rs.ParentSpanId, ts.ParentSpanId)
	}
	for _, c := range []struct{ s, parent *tracepb.Span }{{cs, rs}, {gs, cs}} {
		if !bytes.Equal(c.s.ParentSpanId, c.parent.SpanId) {
			t.Errorf("%s: parent %x, want %s's %x", c.s.Name, c.s.ParentSpanId, c.parent.Name, c.parent.SpanId)
		}
	}
	// Kinds.
	for s, k := range map[*tracepb.Span]tracepb.Span_SpanKind{
		rs: tracepb.Span_SPAN_KIND_SERVER, cs: tracepb.Span_SPAN_KIND_CLIENT,
		gs: tracepb.Span_SPAN_KIND_PRODUCER, ts: tracepb.Span_SPAN_KIND_CONSUMER,
	} {
		if s.Kind != k {
			t.Errorf("%s: kind %v, want %v", s.Name, s.Kind, k)
		}
	}
	// Statuses.
	if rs.Status.GetCode() != tracepb.Status_STATUS_CODE_OK {
		t.Errorf("root status %v, want OK", rs.Status)
	}
	if gs.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || gs.Status.GetMessage() != "corrupt row 7" {
		t.Errorf("grandchild status %v, want ERROR corrupt row 7", gs.Status)
	}
	if cs.Status.GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("child status %v, want UNSET", cs.Status)
	}
	// Internal fields are left out.
	ra := attrMap(rs.Attributes)
	for _, k := range []string{"otel.kind", "metric_name", "otel.status_code"} {
		if _, ok := ra[k]; ok {
			t.Errorf("root exports internal field %s", k)
		}
	}
	if ra["http.route"].GetStringValue() != "/songs" {
		t.Errorf("root http.route = %v", ra["http.route"])
	}
	// Typed attributes.
	ca := attrMap(cs.Attributes)
	checks := []struct {
		key  string
		want *commonpb.AnyValue
	}{
		{"rows", intValue(42)},
		{"small", intValue(7)},
		{"huge", strValue("18446744073709551615")},
		{"ratio", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.25}}},
		{"cached", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		{"budget", intValue(int64(1500 * time.Millisecond))},
		{"since", strValue("2026-11-22T04:05:06.000000789Z")},
		{"point", strValue("{1 2}")},
		{"bad", strValue("a\uFFFDb")},
	}
	for _, c := range checks {
		if got := ca[c.key]; !sameValue(got, c.want) {
			t.Errorf("attribute %s = %v, want %v", c.key, got, c.want)
		}
	}
	// Events: name, time, typed fields and the level.
	if len(cs.Events) != 1 {
		t.Fatalf("child events: %v", cs.Events)
	}
	ev := cs.Events[0]
	ea := attrMap(ev.Attributes)
	if ev.Name != "query sent" || ev.TimeUnixNano < cs.StartTimeUnixNano || ev.TimeUnixNano > cs.EndTimeUnixNano ||
		!sameValue(ea["attempt"], intValue(2)) || !sameValue(ea["retry"], &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{}}) ||
		ea["level"].GetStringValue() != "INFO" {
		t.Errorf("event %v", ev)
	}
	// The task links to the span it follows from.
	if len(ts.Links) != 1 || !bytes.Equal(ts.Links[0].TraceId, want[:]) || !bytes.Equal(ts.Links[0].SpanId, rs.SpanId) {
		t.Errorf("task links %v, want one to the root %x", ts.Links, rs.SpanId)
	}
	if st := l.Stats(); st.Spans != 4 || st.Sent != 4 || st.Failed+st.Dropped+uint64(st.Queued) != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Events beyond a span's limit are counted in dropped_events_count.
func TestEventsBeyondTheLimitAreCountedDropped(t *testing.T) {
	col := startCollector(t)
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
	tr := compose(t, l).Tracer("songs")
	ctx, span := tr.Start(context.Background(), "busy")
	for i := range spanexport.DefaultMaxEvents + 3 {
		tr.Info(ctx, "tick", slog.Int("i", i))
	}
	span.End()
	flush(t, l)
	spans := col.spans()
	if len(spans) != 1 || len(spans[0].Events) != spanexport.DefaultMaxEvents || spans[0].DroppedEventsCount != 3 {
		t.Fatalf("spans %d, events %d, dropped %d", len(spans), len(spans[0].Events), spans[0].DroppedEventsCount)
	}
	if st := l.Stats(); st.EventsDropped != 3 {
		t.Errorf("EventsDropped %d, want 3", st.EventsDropped)
	}
}

// An error field in an event marks the span failed, with its text.
func TestAnErrorEventFailsItsSpan(t *testing.T) {
	col := startCollector(t)
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
	tr := compose(t, l).Tracer("songs")
	ctx, span := tr.Start(context.Background(), "call")
	tr.Warn(ctx, "upstream failed", slog.String("error", "connection reset"))
	span.End()
	flush(t, l)
	spans := col.spans()
	if len(spans) != 1 || spans[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || spans[0].Status.GetMessage() != "connection reset" {
		t.Fatalf("spans %v", spans)
	}
}

func intValue(n int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
}

func strValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func sameValue(a, b *commonpb.AnyValue) bool {
	if a == nil || b == nil {
		return a == b
	}
	switch bv := b.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		av, ok := a.Value.(*commonpb.AnyValue_StringValue)
		return ok && av.StringValue == bv.StringValue
	case *commonpb.AnyValue_IntValue:
		av, ok := a.Value.(*commonpb.AnyValue_IntValue)
		return ok && av.IntValue == bv.IntValue
	case *commonpb.AnyValue_DoubleValue:
		av, ok := a.Value.(*commonpb.AnyValue_DoubleValue)
		return ok && av.DoubleValue == bv.DoubleValue
	case *commonpb.AnyValue_BoolValue:
		av, ok := a.Value.(*commonpb.AnyValue_BoolValue)
		return ok && av.BoolValue == bv.BoolValue
	}
	return false
}
