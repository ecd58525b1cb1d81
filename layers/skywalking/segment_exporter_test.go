package skywalking

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// WithSegmentExporter replaces the collector: no address needed, the segments arrive in
// batches at the function, from the queue's goroutine, and count as sent.
func TestSegmentExporterReceivesTheSegmentsWithoutACollector(t *testing.T) {
	t.Setenv(EnvCollector, "")
	var mu sync.Mutex
	var got []*agentv3.SegmentObject
	l, err := FromEnv(WithService("svc"), WithInstance("i-1"), WithSegmentExporter(
		func(_ context.Context, segs []*agentv3.SegmentObject) error {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range segs {
				got = append(got, proto.Clone(s).(*agentv3.SegmentObject)) // must not keep them
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), l)
	tr := d.Tracer("t")
	for range 3 {
		ctx, root := tr.Start(context.Background(), "GET /songs")
		_, c := tr.Start(ctx, "db")
		c.End()
		root.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("exported %d segments, want 3", len(got))
	}
	for _, s := range got {
		if s.Service != "svc" || s.ServiceInstance != "i-1" || len(s.Spans) != 2 || s.Spans[1].OperationName != "db" {
			t.Fatalf("segment %v", s)
		}
	}
	if st := l.Stats(); st.Sent != 3 || st.Segments != 3 {
		t.Fatalf("stats %+v, want 3 segments sent", st)
	}
}

// The memory of a segment goes back to a pool once its batch was exported; a span the
// sweeper moved out of a reported segment keeps its own, and still goes out intact.
func TestRecycledSegmentsDoNotCorruptLateSpans(t *testing.T) {
	var mu sync.Mutex
	var got []*agentv3.SegmentObject
	l, err := New(WithService("svc"), WithInstance("i-1"), WithLinger(20*time.Millisecond), WithSegmentExporter(
		func(_ context.Context, segs []*agentv3.SegmentObject) error {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range segs {
				got = append(got, proto.Clone(s).(*agentv3.SegmentObject))
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), l)
	tr := d.Tracer("t")
	ctx, root := tr.Start(context.Background(), "request")
	_, late := tr.Start(ctx, "late", slog.String("k", "v"))
	root.End()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().LateSpans == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Reuse the pooled memory with more segments before the late span ends.
	for range 50 {
		_, sp := tr.Start(context.Background(), "other", slog.String("x", "y"))
		sp.End()
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	late.End()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var lateSeg *agentv3.SegmentObject
	for _, s := range got {
		if len(s.Spans) == 1 && s.Spans[0].OperationName == "late" {
			lateSeg = s
		}
	}
	if len(got) != 52 || lateSeg == nil {
		t.Fatalf("%d segments, late one %v", len(got), lateSeg)
	}
	sp := lateSeg.Spans[0]
	if sp.SpanId != 0 || sp.ParentSpanId != -1 || len(sp.Refs) != 1 || sp.Refs[0].RefType != agentv3.RefType_CrossThread ||
		len(sp.Tags) != 1 || sp.Tags[0].Key != "k" || sp.Tags[0].Value != "v" || sp.EndTime == 0 {
		t.Fatalf("late span %v", sp)
	}
}
