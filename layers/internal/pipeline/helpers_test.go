package pipeline_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

// recorder is a Sender that records the batches it delivers. fail, when set, decides
// the outcome of each call (n counts calls from 0); a nil error records the batch.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	calls   int
	fail    func(ctx context.Context, n int, batch []int) error
}

func (r *recorder) Send(ctx context.Context, batch []int) error {
	r.mu.Lock()
	n := r.calls
	r.calls++
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, n, batch); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(batch))
	r.mu.Unlock()
	return nil
}

// items returns every item delivered, in delivery order.
func (r *recorder) items() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []int
	for _, b := range r.batches {
		all = append(all, b...)
	}
	return all
}

func (r *recorder) batchSizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sizes []int
	for _, b := range r.batches {
		sizes = append(sizes, len(b))
	}
	return sizes
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// enqueueAll enqueues items and fails the test if one is dropped.
func enqueueAll(t *testing.T, p *pipeline.Pipeline[int], items []int) {
	t.Helper()
	for _, it := range items {
		if !p.Enqueue(it) {
			t.Fatalf("Enqueue(%d) dropped the item: %+v", it, p.Stats())
		}
	}
}

// shutdown shuts p down within a few seconds and fails the test on error.
func shutdown(t *testing.T, p *pipeline.Pipeline[int]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// checkBalance fails the test unless every item offered is accounted for.
func checkBalance(t *testing.T, s pipeline.Stats) {
	t.Helper()
	if s.Sent+s.Failed+s.Dropped+uint64(s.Queued) != s.Enqueued {
		t.Fatalf("Sent %d + Failed %d + Dropped %d + Queued %d != Enqueued %d",
			s.Sent, s.Failed, s.Dropped, s.Queued, s.Enqueued)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkNoGoroutineLeak fails the test unless the number of goroutines returns to
// before within a few seconds.
func checkNoGoroutineLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logLines collects what a pipeline logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}
