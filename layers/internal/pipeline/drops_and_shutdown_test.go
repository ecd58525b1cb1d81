package pipeline_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

func TestFullQueueDropsAndCountsWithoutBlocking(t *testing.T) {
	gate := make(chan struct{})
	r := &recorder{fail: func(context.Context, int, []int) error { <-gate; return nil }}
	logs := &logLines{}
	p := pipeline.New[int](pipeline.Config{QueueSize: 10, BatchSize: 4, FlushInterval: time.Millisecond, Logf: logs.logf}, r)

	start := time.Now()
	accepted := 0
	for i := range 30 {
		if p.Enqueue(i) {
			accepted++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("30 Enqueue calls with a blocked Sender took %v", d)
	}
	// The queue holds 10 items, the batch being sent included.
	if s := p.Stats(); accepted != 10 || s.Dropped != 20 || s.Enqueued != 30 || s.Queued != 10 {
		t.Fatalf("accepted %d, stats %+v; want 10 accepted, 20 dropped", accepted, s)
	}
	close(gate)
	shutdown(t, p)
	if p.Enqueue(99) {
		t.Fatal("Enqueue after Shutdown accepted the item")
	}
	s := p.Stats()
	if s.Sent != 10 || s.Dropped != 21 || s.Enqueued != 31 || s.Queued != 0 {
		t.Fatalf("stats %+v, want 10 sent and 21 dropped", s)
	}
	checkBalance(t, s)
	if lines := logs.get(); len(lines) != 1 || lines[0] != "pipeline: queue full (10 items): 20 items dropped" {
		t.Fatalf("log lines %q, want one line about 20 dropped items", lines)
	}
}

func TestShutdownDeliversEverythingQueued(t *testing.T) {
	r := &recorder{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 100, FlushInterval: time.Hour}, r)
	enqueueAll(t, p, seq(1000))
	shutdown(t, p)
	if n := len(r.items()); n != 1000 {
		t.Fatalf("delivered %d of 1000", n)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("goroutine still running after Shutdown returned nil")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestShutdownWithBlockedSenderReturnsByDeadlineAndCountsTheLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(ctx context.Context, n int, batch []int) error
	}{
		{"sender blocks until its context ends", func(ctx context.Context, n int, _ []int) error {
			if n == 0 {
				return nil // the first batch gets through
			}
			<-ctx.Done()
			return ctx.Err()
		}},
		{"sender keeps asking for a retry", func(_ context.Context, n int, _ []int) error {
			if n == 0 {
				return nil
			}
			return pipeline.Retry(errRefused)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{fail: tc.send}
			p := pipeline.New[int](pipeline.Config{BatchSize: 10, FlushInterval: time.Millisecond,
				MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logf: func(string, ...any) {}}, r)
			enqueueAll(t, p, seq(10))
			waitFor(t, "the first batch", func() bool { return len(r.items()) == 10 })
			enqueueAll(t, p, seq(45))

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := p.Shutdown(ctx)
			if d := time.Since(start); d > 600*time.Millisecond {
				t.Fatalf("Shutdown took %v with a 100ms deadline", d)
			}
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "45 items not delivered") {
				t.Fatalf("Shutdown error %v, want it to wrap the deadline and count 45 items", err)
			}
			s := p.Stats()
			if s.Sent != 10 || s.Failed != 45 || s.Queued != 0 || s.Dropped != 0 {
				t.Fatalf("stats %+v, want 10 sent, 45 failed", s)
			}
			checkBalance(t, s)
			select {
			case <-p.Done():
			case <-time.After(2 * time.Second):
				t.Fatal("goroutine did not return after Shutdown's deadline")
			}
			if p.Stats() != s {
				t.Fatalf("stats changed after Shutdown returned: %+v, then %+v", s, p.Stats())
			}
		})
	}
}

func TestShutdownReturnsEvenIfSenderIgnoresItsContext(t *testing.T) {
	release, sending := make(chan struct{}), make(chan struct{})
	r := &recorder{fail: func(_ context.Context, n int, _ []int) error {
		if n == 0 {
			close(sending)
		}
		<-release
		return nil
	}}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Millisecond}, r)
	enqueueAll(t, p, seq(12))
	<-sending
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "12 items not delivered (7 queued, 5 in a Send") {
		t.Fatalf("Shutdown error %v", err)
	}
	// Shutdown again: the goroutine is stuck in the Sender.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := p.Shutdown(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Shutdown %v, want a deadline error while the Sender blocks", err)
	}
	close(release)
	<-p.Done()
	// The late success does not count twice.
	if s := p.Stats(); s.Failed != 12 || s.Sent != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFlushReportsWhatIsStillUndeliveredAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	r := &recorder{fail: func(context.Context, int, []int) error { <-release; return nil }}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Hour}, r)
	enqueueAll(t, p, seq(8))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Flush(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "8 items not yet delivered") {
		t.Fatalf("Flush error %v", err)
	}
	if s := p.Stats(); s.Queued != 8 || s.Failed != 0 {
		t.Fatalf("stats %+v: Flush must not count queued items as lost", s)
	}
	close(release)
	shutdown(t, p)
	if s := p.Stats(); s.Sent != 8 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNoGoroutineLeaksAfterShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := range 20 {
		r := &recorder{fail: func(ctx context.Context, n int, _ []int) error {
			if n%2 == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}}
		p := pipeline.New[int](pipeline.Config{BatchSize: 3, FlushInterval: time.Millisecond}, r)
		for j := range i * 3 {
			p.Enqueue(j)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_ = p.Shutdown(ctx)
		cancel()
	}
	checkNoGoroutineLeak(t, before)
}

func TestShutdownDeadlineErrorCountsEarlierFailuresToo(t *testing.T) {
	errReset := errors.New("stream reset")
	sending := make(chan struct{})
	r := &recorder{fail: func(ctx context.Context, n int, _ []int) error {
		if n == 0 {
			return errReset
		}
		if n == 1 {
			close(sending)
		}
		<-ctx.Done()
		return ctx.Err()
	}}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Millisecond, Logf: func(string, ...any) {}}, r)
	enqueueAll(t, p, seq(5))
	waitFor(t, "the first batch to fail", func() bool { return p.Stats().Failed == 5 })
	enqueueAll(t, p, seq(7))
	<-sending
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errReset) ||
		!strings.Contains(err.Error(), "12 items not delivered (2 queued, 5 in a Send that had not succeeded, 5 failed to send: stream reset)") {
		t.Fatalf("Shutdown error %v", err)
	}
	if s := p.Stats(); s.Failed != 12 {
		t.Fatalf("stats %+v", s)
	}
}
