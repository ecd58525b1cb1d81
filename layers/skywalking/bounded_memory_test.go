package skywalking

import (
	"context"
	"fmt"
	"testing"
)

// Beyond WithMaxOpenSegments open segments, a new local root and its children are not
// exported, and they are counted; segments already open are not affected.
func TestOpenSegmentCap(t *testing.T) {
	f := newFixture(t, WithMaxOpenSegments(2))
	var ends []func()
	for i := range 3 {
		ctx, root := f.tr.Start(context.Background(), fmt.Sprintf("root %d", i))
		_, child := f.tr.Start(ctx, fmt.Sprintf("child %d", i))
		ends = append(ends, child.End, root.End)
	}
	if st := f.l.Stats(); st.OpenSegments != 2 || st.Refused != 1 || st.SpansDropped != 2 {
		t.Errorf("while open: %+v, want 2 open segments, 1 refused, 2 spans dropped", st)
	}
	for _, end := range ends {
		end()
	}
	segs := f.rep.segments()
	if len(segs) != 2 || segs[0].Spans[0].OperationName != "root 0" || segs[1].Spans[0].OperationName != "root 1" {
		t.Fatalf("segments %s, want those of root 0 and root 1", describe(segs))
	}
	// The cap counts open segments, not segments ever made: there is room again.
	_, again := f.tr.Start(context.Background(), "again")
	again.End()
	if n := len(f.rep.segments()); n != 3 {
		t.Errorf("%d segments after the cap freed up, want 3", n)
	}
	if st := f.l.Stats(); st.OpenSegments != 0 {
		t.Errorf("%d segments open at the end", st.OpenSegments)
	}
}

// Beyond WithMaxSpansPerSegment spans, the later spans of a segment and their children
// are not exported, the segment says it is size-limited, and the count says how many.
func TestSpansPerSegmentCap(t *testing.T) {
	f := newFixture(t, WithMaxSpansPerSegment(3))
	ctx, root := f.tr.Start(context.Background(), "root")
	for i := range 4 {
		cctx, c := f.tr.Start(ctx, fmt.Sprintf("child %d", i))
		_, g := f.tr.Start(cctx, fmt.Sprintf("grandchild %d", i))
		g.End()
		c.End()
	}
	root.End()
	seg := f.only(t)
	if len(seg.Spans) != 3 || !seg.IsSizeLimited {
		t.Errorf("segment %s, size-limited %v: want root, child 0, grandchild 0 and the flag", describe(f.rep.segments()), seg.IsSizeLimited)
	}
	if n := f.l.Stats().SpansDropped; n != 6 {
		t.Errorf("SpansDropped = %d, want 6", n)
	}
}

// Events past 128 in one span are counted, not kept.
func TestLogsPerSpanCap(t *testing.T) {
	f := newFixture(t)
	ctx, sp := f.tr.Start(context.Background(), "chatty")
	for range maxLogsPerSpan + 5 {
		f.tr.Info(ctx, "line")
	}
	sp.End()
	if n := len(f.only(t).Spans[0].Logs); n != maxLogsPerSpan {
		t.Errorf("%d logs, want %d", n, maxLogsPerSpan)
	}
	if n := f.l.Stats().LogsDropped; n != 5 {
		t.Errorf("LogsDropped = %d, want 5", n)
	}
}
