package pipeline_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

func TestItemsArriveInOrderInBatchesOfAtMostBatchSize(t *testing.T) {
	r := &recorder{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 64, QueueSize: 2000}, r)
	enqueueAll(t, p, seq(1000))
	shutdown(t, p)

	if got := r.items(); !slices.Equal(got, seq(1000)) {
		t.Fatalf("delivered %d items out of order or duplicated: %v", len(got), got)
	}
	for _, n := range r.batchSizes() {
		if n > 64 {
			t.Fatalf("batch of %d items, BatchSize 64: %v", n, r.batchSizes())
		}
	}
	s := p.Stats()
	if s.Enqueued != 1000 || s.Sent != 1000 || s.Failed != 0 || s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFullBatchGoesOutWithoutWaitingForFlushInterval(t *testing.T) {
	r := &recorder{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 10, FlushInterval: time.Hour}, r)
	defer shutdown(t, p)
	enqueueAll(t, p, seq(25))

	waitFor(t, "two full batches", func() bool { return len(r.batchSizes()) == 2 })
	time.Sleep(20 * time.Millisecond)
	if sizes := r.batchSizes(); !slices.Equal(sizes, []int{10, 10}) {
		t.Fatalf("batches %v, want [10 10] and the last 5 items lingering", sizes)
	}
	if q := p.Stats().Queued; q != 5 {
		t.Fatalf("Queued = %d, want 5", q)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sizes := r.batchSizes(); !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Fatalf("batches after Flush %v, want [10 10 5]", sizes)
	}
}

func TestPartialBatchWaitsForFlushIntervalThenGoesOut(t *testing.T) {
	r := &recorder{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 100, FlushInterval: 200 * time.Millisecond}, r)
	defer shutdown(t, p)
	start := time.Now()
	enqueueAll(t, p, seq(3))
	time.Sleep(20 * time.Millisecond)
	if n := len(r.items()); n != 0 && time.Since(start) < 150*time.Millisecond {
		t.Fatalf("%d items sent before the flush interval", n)
	}
	waitFor(t, "the partial batch", func() bool { return len(r.items()) == 3 })
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("partial batch sent after %v, before the 200ms flush interval", d)
	}
	if sizes := r.batchSizes(); !slices.Equal(sizes, []int{3}) {
		t.Fatalf("batches %v, want one of 3", sizes)
	}
}

func TestConcurrentEnqueuersAreAllAccountedFor(t *testing.T) {
	r := &recorder{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 50, QueueSize: 500, FlushInterval: time.Millisecond, Logf: func(string, ...any) {}}, r)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				p.Enqueue(g*1000 + i)
			}
		})
	}
	wg.Wait()
	shutdown(t, p)
	s := p.Stats()
	checkBalance(t, s)
	if s.Enqueued != 4000 || s.Queued != 0 || s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	got := r.items()
	if uint64(len(got)) != s.Sent {
		t.Fatalf("delivered %d items, Sent %d", len(got), s.Sent)
	}
	// Each enqueuer's accepted items arrive in its order.
	last := map[int]int{}
	for _, it := range got {
		g, i := it/1000, it%1000
		if prev, ok := last[g]; ok && i <= prev {
			t.Fatalf("goroutine %d: item %d after %d", g, i, prev)
		}
		last[g] = i
	}
}
