package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

type segment struct {
	id   uint64
	name string
}

type discard struct{}

func (discard) Send(context.Context, []*segment) error { return nil }

func TestEnqueueAllocatesNothing(t *testing.T) {
	// A batch size above the run count keeps the goroutine lingering, so only Enqueue
	// is measured.
	p := pipeline.New[*segment](pipeline.Config{QueueSize: 4096, BatchSize: 4096, FlushInterval: time.Hour}, discard{})
	defer p.Shutdown(t.Context())
	seg := &segment{id: 1, name: "GET /songs"}
	p.Enqueue(seg) // wakes the goroutine, which starts lingering
	allocs := testing.AllocsPerRun(1000, func() { p.Enqueue(seg) })
	if allocs != 0 {
		t.Fatalf("Enqueue allocates %.1f times per call", allocs)
	}
}

func BenchmarkEnqueue(b *testing.B) {
	p := pipeline.New[*segment](pipeline.Config{QueueSize: 1 << 16, BatchSize: 512, FlushInterval: time.Millisecond, Logf: func(string, ...any) {}}, discard{})
	defer p.Shutdown(b.Context())
	seg := &segment{id: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Enqueue(seg)
		}
	})
}
