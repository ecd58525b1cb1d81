package skywalking

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// A task started with Tracer.Go follows from the caller's span without being its child:
// it goes out in a segment of its own, in the same trace, whose first span refers to
// the caller's span with a CrossThread reference.
func TestGoTaskRefersToTheSpanItFollowsFrom(t *testing.T) {
	f := newFixture(t)
	ctx, root := f.tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"))
	cctx, child := f.tr.Start(ctx, "handler")
	task := f.tr.Go(cctx, "refresh cache", func(ctx context.Context) error {
		_, sp := f.tr.Start(ctx, "under task")
		sp.End()
		return nil
	})
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	child.End()
	root.End()
	segs := f.rep.wait(t, 2, 5*time.Second)
	req, bg := segmentWith(t, segs, "GET /songs"), segmentWith(t, segs, "refresh cache")
	if req == bg || bg.TraceId != req.TraceId {
		t.Fatalf("segments %s: want two segments of one trace", describe(segs))
	}
	if len(req.Spans[0].Refs) != 0 {
		t.Errorf("the request's root has refs %v", req.Spans[0].Refs)
	}
	first := spanNamed(t, bg, "refresh cache")
	if first.SpanId != 0 || first.ParentSpanId != -1 {
		t.Errorf("task span id %d parent %d, want 0 and -1", first.SpanId, first.ParentSpanId)
	}
	want := &agentv3.SegmentReference{RefType: agentv3.RefType_CrossThread, TraceId: req.TraceId,
		ParentTraceSegmentId: req.TraceSegmentId, ParentSpanId: spanNamed(t, req, "handler").SpanId,
		ParentService: req.Service, ParentServiceInstance: req.ServiceInstance, ParentEndpoint: "GET /songs"}
	if len(first.Refs) != 1 || !proto.Equal(first.Refs[0], want) {
		t.Errorf("task refs %v, want [%v]", first.Refs, want)
	}
	if under := spanNamed(t, bg, "under task"); len(under.Refs) != 0 || under.ParentSpanId != 0 {
		t.Errorf("span under the task: refs %v parent %d", under.Refs, under.ParentSpanId)
	}
}

// A task whose caller's span has already ended (and was reported) still refers to it.
func TestGoTaskAfterItsCallerEndedStillRefersToIt(t *testing.T) {
	f := newFixture(t)
	ctx, root := f.tr.Start(context.Background(), "job")
	release := make(chan struct{})
	task := f.tr.Go(ctx, "background", func(context.Context) error { <-release; return nil })
	root.End()
	close(release)
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	segs := f.rep.wait(t, 2, 5*time.Second)
	job, bg := segmentWith(t, segs, "job"), segmentWith(t, segs, "background")
	refs := spanNamed(t, bg, "background").Refs
	if len(refs) != 1 || refs[0].RefType != agentv3.RefType_CrossThread ||
		refs[0].ParentTraceSegmentId != job.TraceSegmentId || refs[0].ParentSpanId != 0 {
		t.Errorf("refs %v, want a CrossThread ref to span 0 of %s", refs, job.TraceSegmentId)
	}
}
