package skywalking

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// Thousands of traces at once, with children ended before and after their root, spans
// that outlive a short linger, and spans started from the ctx of ended spans: every
// span is exported exactly once, every segment is a well-formed tree whose references
// point at spans that exist, no segment stays open, and every span record is released.
func TestThousandsOfConcurrentTraces(t *testing.T) {
	traces := 2000
	if testing.Short() {
		traces = 300
	}
	f := newFixture(t, WithLinger(5*time.Millisecond))
	var wg, late sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				ctx, root := f.tr.Start(context.Background(), "root", slog.String("otel.kind", "server"), slog.Int("i", i))
				actx, a := f.tr.Start(ctx, "a")
				f.tr.Info(actx, "in a", slog.Int("i", i))
				a.End()
				bctx, b := f.tr.Start(ctx, "b", slog.String("otel.kind", "client"), slog.String("peer", "x:1"))
				sleep := time.Duration(0)
				if i%4 == 0 {
					sleep = time.Duration(rand.IntN(12)) * time.Millisecond
				}
				late.Go(func() {
					time.Sleep(sleep)
					_, c := f.tr.Start(actx, "c") // a has ended: the ended-parent path
					c.End()
					b.End()
				})
				_ = bctx
				root.End()
			}
		})
	}
	for i := range traces {
		work <- i
	}
	close(work)
	wg.Wait()
	late.Wait()

	segs := f.rep.segments()
	checkWellFormed(t, segs)
	spans := 0
	for _, s := range segs {
		spans += len(s.Spans)
	}
	if spans != 4*traces {
		t.Errorf("%d spans exported, want %d", spans, 4*traces)
	}
	st := f.l.Stats()
	if st.OpenSegments != 0 || st.SpansDropped != 0 {
		t.Errorf("stats at the end: %+v", st)
	}
	t.Logf("%d segments, %d late spans, %d unlinked", len(segs), st.LateSpans, st.Unlinked)
	if n := f.d.Registry().Live(); n != 0 {
		t.Errorf("%d span records live after every span ended", n)
	}
}

// checkWellFormed checks that each segment's span ids are unique, that exactly one span
// per segment, span 0, has no parent in it, that parents are spans of the segment, and
// that CrossThread references point at a span of a reported segment.
func checkWellFormed(t *testing.T, segs []*agentv3.SegmentObject) {
	t.Helper()
	byID := map[string]map[int32]bool{}
	for _, s := range segs {
		if byID[s.TraceSegmentId] != nil {
			t.Fatalf("segment id %s reported twice", s.TraceSegmentId)
		}
		ids := map[int32]bool{}
		for _, sp := range s.Spans {
			if ids[sp.SpanId] {
				t.Fatalf("segment %s: span id %d twice", s.TraceSegmentId, sp.SpanId)
			}
			ids[sp.SpanId] = true
		}
		byID[s.TraceSegmentId] = ids
	}
	for _, s := range segs {
		roots := 0
		for _, sp := range s.Spans {
			if sp.ParentSpanId == -1 {
				roots++
				if sp.SpanId != 0 {
					t.Errorf("segment %s: span %d has no parent", s.TraceSegmentId, sp.SpanId)
				}
			} else if !byID[s.TraceSegmentId][sp.ParentSpanId] || sp.ParentSpanId >= sp.SpanId {
				t.Errorf("segment %s: span %d's parent %d is not an earlier span of it", s.TraceSegmentId, sp.SpanId, sp.ParentSpanId)
			}
			for _, r := range sp.Refs {
				if r.RefType != agentv3.RefType_CrossThread {
					continue
				}
				if p := byID[r.ParentTraceSegmentId]; p == nil || !p[r.ParentSpanId] {
					t.Errorf("segment %s refers to span %d of %s, which was not reported", s.TraceSegmentId, r.ParentSpanId, r.ParentTraceSegmentId)
				}
				if r.TraceId != s.TraceId {
					t.Errorf("segment %s: ref to trace %s", s.TraceSegmentId, r.TraceId)
				}
			}
		}
		if roots != 1 {
			t.Errorf("segment %s: %d spans without parent: %s", s.TraceSegmentId, roots, fmt.Sprint(describe([]*agentv3.SegmentObject{s})))
		}
	}
}
