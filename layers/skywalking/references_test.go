package skywalking

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// An entry span that continues an sw8 caller carries a CrossProcess reference with
// everything the header said, and the segment keeps the caller's trace id as written.
func TestEntryContinuingSW8CarriesCrossProcessRef(t *testing.T) {
	f := newFixture(t)
	h := SW8{Sampled: true, TraceID: "a1b2c3.36.16987654321000001", ParentSegmentID: "f00d.37.16987654321000002",
		ParentSpanID: 3, ParentService: "gateway", ParentInstance: "gw-1", ParentEndpoint: "/api/songs",
		AddressUsedAtClient: "songs:8080"}
	ctx := f.d.Extract(context.Background(), subscriber.MapCarrier{HeaderSW8: h.Encode()})
	_, sp := f.tr.Start(ctx, "GET /songs", slog.String("otel.kind", "server"))
	sp.End()

	seg := f.only(t)
	if seg.TraceId != h.TraceID {
		t.Errorf("traceId %q, want the caller's %q unchanged", seg.TraceId, h.TraceID)
	}
	want := &agentv3.SegmentReference{RefType: agentv3.RefType_CrossProcess, TraceId: h.TraceID,
		ParentTraceSegmentId: h.ParentSegmentID, ParentSpanId: 3, ParentService: "gateway",
		ParentServiceInstance: "gw-1", ParentEndpoint: "/api/songs", NetworkAddressUsedAtPeer: "songs:8080"}
	if refs := seg.Spans[0].Refs; len(refs) != 1 || !proto.Equal(refs[0], want) {
		t.Errorf("refs %v, want [%v]", refs, want)
	}
}

// A remote parent from another propagator continues the trace with no reference.
func TestForeignRemoteParentContinuesTraceWithoutRef(t *testing.T) {
	f := newFixture(t)
	rp := &subscriber.RemoteParent{TraceID: registry.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736"), Propagator: "w3c"}
	_, sp := f.tr.Start(subscriber.ContextWithRemote(context.Background(), rp), "GET /", slog.String("otel.kind", "server"))
	sp.End()
	seg := f.only(t)
	if seg.TraceId != "4bf92f3577b34da6a3ce929d0e0e4736" || len(seg.Spans[0].Refs) != 0 {
		t.Errorf("traceId %q refs %v, want the W3C trace id and no ref", seg.TraceId, seg.Spans[0].Refs)
	}
}

// A span that is still open a linger after its segment's first span ended does not
// hold the segment: the segment goes out, and the late span (with the spans under it)
// goes out later in a segment of its own that refers to its parent CrossThread.
func TestLateSpanGoesOutInItsOwnSegment(t *testing.T) {
	f := newFixture(t, WithLinger(30*time.Millisecond))
	ctx, root := f.tr.Start(context.Background(), "request", slog.String("otel.kind", "server"))
	_, quick := f.tr.Start(ctx, "quick")
	quick.End()
	lctx, late := f.tr.Start(ctx, "late")
	uctx, under := f.tr.Start(lctx, "under late")
	under.End()
	root.End()

	first := f.rep.wait(t, 1, 2*time.Second)[0]
	if len(first.Spans) != 2 || first.Spans[0].OperationName != "request" || first.Spans[1].OperationName != "quick" {
		t.Fatalf("first segment %s, want request and quick", describe([]*agentv3.SegmentObject{first}))
	}
	if f.l.Stats().LateSpans != 1 {
		t.Errorf("LateSpans = %d, want 1", f.l.Stats().LateSpans)
	}
	// A child started now from the ctx of the ended span that moved joins it.
	_, afterMove := f.tr.Start(uctx, "after move")
	afterMove.End()
	late.End()

	segs := f.rep.wait(t, 2, 2*time.Second)
	second := segs[1]
	if second.TraceId != first.TraceId || second.TraceSegmentId == first.TraceSegmentId {
		t.Errorf("second segment trace %q id %q; first %q %q", second.TraceId, second.TraceSegmentId, first.TraceId, first.TraceSegmentId)
	}
	lateSp := spanNamed(t, second, "late")
	if lateSp.SpanId != 0 || lateSp.ParentSpanId != -1 {
		t.Errorf("late span id %d parent %d, want 0 and -1", lateSp.SpanId, lateSp.ParentSpanId)
	}
	want := &agentv3.SegmentReference{RefType: agentv3.RefType_CrossThread, TraceId: first.TraceId,
		ParentTraceSegmentId: first.TraceSegmentId, ParentSpanId: 0, ParentService: "svc",
		ParentServiceInstance: "inst", ParentEndpoint: "request"}
	if len(lateSp.Refs) != 1 || !proto.Equal(lateSp.Refs[0], want) {
		t.Errorf("late span refs %v, want [%v]", lateSp.Refs, want)
	}
	if u := spanNamed(t, second, "under late"); u.SpanId != 1 || u.ParentSpanId != 0 {
		t.Errorf("under late: id %d parent %d, want 1 and 0", u.SpanId, u.ParentSpanId)
	}
	if a := spanNamed(t, second, "after move"); a.SpanId != 2 || a.ParentSpanId != 1 || len(a.Refs) != 0 {
		t.Errorf("after move: id %d parent %d refs %v, want 2, 1 and none", a.SpanId, a.ParentSpanId, a.Refs)
	}
	if st := f.l.Stats(); st.OpenSegments != 0 {
		t.Errorf("%d segments open at the end", st.OpenSegments)
	}
}

// A span started from the ctx of an ended span whose record is gone joins that span's
// segment while the segment is open, with the ended span as its parent.
func TestChildOfEndedParentJoinsOpenSegment(t *testing.T) {
	f := newFixture(t)
	ctx, root := f.tr.Start(context.Background(), "root")
	actx, a := f.tr.Start(ctx, "a")
	a.End() // no children: its record is released at once
	_, b := f.tr.Start(actx, "b")
	if !f.probe.parentEnded("b") {
		t.Fatal("the test needs b to start from an ended, released parent")
	}
	root.End()
	b.End()
	seg := f.only(t)
	if sp := spanNamed(t, seg, "b"); sp.SpanId != 2 || sp.ParentSpanId != 1 || len(sp.Refs) != 0 {
		t.Errorf("b: id %d parent %d refs %v, want 2, 1 (a) and none", sp.SpanId, sp.ParentSpanId, sp.Refs)
	}
}

// A span started from the ctx of an ended span whose segment was already reported goes
// out in a new segment with a CrossThread reference to that span.
func TestChildOfReportedSegmentRefersCrossThread(t *testing.T) {
	f := newFixture(t)
	ctx, root := f.tr.Start(context.Background(), "root", slog.String("otel.kind", "consumer"))
	actx, a := f.tr.Start(ctx, "a")
	a.End()
	root.End()
	first := f.only(t)

	_, b := f.tr.Start(actx, "b") // a's record is gone: the ended-parent path
	b.End()
	if !f.probe.parentEnded("b") {
		t.Fatal("the test needs b to start from an ended, released parent")
	}
	segs := f.rep.wait(t, 2, time.Second)
	second := segs[1]
	want := &agentv3.SegmentReference{RefType: agentv3.RefType_CrossThread, TraceId: first.TraceId,
		ParentTraceSegmentId: first.TraceSegmentId, ParentSpanId: 1, ParentService: "svc",
		ParentServiceInstance: "inst", ParentEndpoint: "root"}
	sp := second.Spans[0]
	if sp.OperationName != "b" || sp.SpanId != 0 || sp.ParentSpanId != -1 || len(sp.Refs) != 1 || !proto.Equal(sp.Refs[0], want) {
		t.Errorf("second segment %s: refs %v, want b with [%v]", describe(segs[1:]), sp.Refs, want)
	}
	if second.TraceId != first.TraceId {
		t.Errorf("trace %q, want %q", second.TraceId, first.TraceId)
	}
}

// The same when the ended parent's record is still alive (a child of it is open): the
// parent's segment went out with the linger, and a new child of the parent refers to it.
func TestChildOfLiveParentInReportedSegment(t *testing.T) {
	f := newFixture(t, WithLinger(20*time.Millisecond))
	ctx, root := f.tr.Start(context.Background(), "root")
	actx, a := f.tr.Start(ctx, "a")
	_, c := f.tr.Start(actx, "c (late)")
	a.End()
	root.End()
	first := f.rep.wait(t, 1, 2*time.Second)[0]

	_, d := f.tr.Start(actx, "d") // a ended, but c keeps its record alive
	d.End()
	if f.probe.parentEnded("d") {
		t.Fatal("the test needs d's parent record to be alive")
	}
	segs := f.rep.wait(t, 2, time.Second)
	dSeg := segmentWith(t, segs, "d")
	sp := dSeg.Spans[0]
	if len(sp.Refs) != 1 || sp.Refs[0].RefType != agentv3.RefType_CrossThread ||
		sp.Refs[0].ParentTraceSegmentId != first.TraceSegmentId || sp.Refs[0].ParentSpanId != 1 {
		t.Errorf("d refs %v, want CrossThread to span 1 of %s", sp.Refs, first.TraceSegmentId)
	}
	c.End()
	segs = f.rep.wait(t, 3, time.Second)
	cs := segmentWith(t, segs, "c (late)").Spans[0]
	if len(cs.Refs) != 1 || cs.Refs[0].ParentTraceSegmentId != first.TraceSegmentId || cs.Refs[0].ParentSpanId != 1 {
		t.Errorf("c refs %v, want CrossThread to span 1 of %s", cs.Refs, first.TraceSegmentId)
	}
}
