package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

var errRefused = errors.New("connection refused")

func TestRetryableFailuresAreRetriedAndDeliveredOnce(t *testing.T) {
	var attempts [][]int
	r := &recorder{fail: func(_ context.Context, n int, batch []int) error {
		attempts = append(attempts, slices.Clone(batch)) // Send is called from one goroutine
		if n < 3 {
			return pipeline.Retry(errRefused)
		}
		return nil
	}}
	logs := &logLines{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 10, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Logf: logs.logf}, r)
	enqueueAll(t, p, seq(10))
	shutdown(t, p)

	if got := r.items(); !slices.Equal(got, seq(10)) {
		t.Fatalf("delivered %v, want 0..9 once", got)
	}
	for i, a := range attempts[:4] {
		if !slices.Equal(a, seq(10)) {
			t.Fatalf("attempt %d sent %v, want the same batch 0..9", i, a)
		}
	}
	s := p.Stats()
	if s.Sent != 10 || s.Retries != 3 || s.Failed != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v, want 10 sent after 3 retries", s)
	}
	lines := logs.get()
	if len(lines) != 1 || !strings.Contains(lines[0], "retrying") || !strings.Contains(lines[0], "connection refused") {
		t.Fatalf("log lines %q, want one line about retrying", lines)
	}
}

func TestNonRetryableErrorCountsTheBatchAsFailedAndGoesOn(t *testing.T) {
	errReset := errors.New("stream reset")
	r := &recorder{fail: func(_ context.Context, n int, _ []int) error {
		if n == 0 {
			return errReset
		}
		return nil
	}}
	logs := &logLines{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Hour, Logf: logs.logf}, r)
	defer shutdown(t, p)
	enqueueAll(t, p, seq(12))

	err := p.Flush(context.Background())
	if !errors.Is(err, errReset) || !strings.Contains(err.Error(), "5 items failed") {
		t.Fatalf("Flush error %v, want it to report 5 failed items and wrap the Send error", err)
	}
	if got := r.items(); !slices.Equal(got, seq(12)[5:]) {
		t.Fatalf("delivered %v, want items 5..11", got)
	}
	s := p.Stats()
	if s.Failed != 5 || s.Sent != 7 || s.Retries != 0 {
		t.Fatalf("stats %+v", s)
	}
	checkBalance(t, s)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatalf("second Flush reported the same failures again: %v", err)
	}
	if lines := logs.get(); len(lines) != 1 || !strings.Contains(lines[0], "5 items lost: stream reset") {
		t.Fatalf("log lines %q", lines)
	}
}

func TestPanickingSenderLosesOnlyItsBatch(t *testing.T) {
	r := &recorder{fail: func(_ context.Context, n int, _ []int) error {
		if n == 0 {
			panic("sender bug")
		}
		return nil
	}}
	p := pipeline.New[int](pipeline.Config{BatchSize: 4, FlushInterval: time.Hour, Logf: func(string, ...any) {}}, r)
	enqueueAll(t, p, seq(8))
	if err := p.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "sender panicked: sender bug") {
		t.Fatalf("Flush error %v", err)
	}
	shutdown(t, p)
	if s := p.Stats(); s.Failed != 4 || s.Sent != 4 {
		t.Fatalf("stats %+v", s)
	}
}

func TestErrorsAreLoggedAtMostOncePerKindAndInterval(t *testing.T) {
	r := &recorder{fail: func(context.Context, int, []int) error { return errors.New("bad request") }}
	logs := &logLines{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 1, FlushInterval: time.Millisecond, Logf: logs.logf}, r)
	enqueueAll(t, p, seq(50))
	if err := p.Shutdown(context.Background()); err == nil || !strings.Contains(err.Error(), "50 items failed") {
		t.Fatalf("Shutdown error %v, want 50 failed items", err)
	}
	if s := p.Stats(); s.Failed != 50 {
		t.Fatalf("stats %+v", s)
	}
	if lines := logs.get(); len(lines) != 1 {
		t.Fatalf("50 failed batches logged %d lines, want 1: %q", len(lines), lines)
	}
}

func TestLogLimiterSaysHowManyLinesItHeldBack(t *testing.T) {
	logs := &logLines{}
	l := pipeline.NewLogLimiter(logs.logf, 30*time.Millisecond)
	if !l.Logf("a", "first %d", 1) {
		t.Fatal("first line not written")
	}
	for range 3 {
		if l.Logf("a", "again") {
			t.Fatal("line written within the interval")
		}
	}
	if !l.Logf("b", "other kind") {
		t.Fatal("a line of another kind was held back")
	}
	time.Sleep(40 * time.Millisecond)
	if !l.Logf("a", "later") {
		t.Fatal("line after the interval held back")
	}
	want := []string{"first 1", "other kind", "later (3 more like it held back since the last one)"}
	if got := logs.get(); !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

func TestRetryIsDetectedThroughWrapping(t *testing.T) {
	err := pipeline.Retry(errRefused)
	if !pipeline.IsRetry(err) || !errors.Is(err, errRefused) || err.Error() != errRefused.Error() {
		t.Fatalf("Retry(err) = %v", err)
	}
	wrapped := errors.Join(errors.New("context"), err)
	if !pipeline.IsRetry(wrapped) {
		t.Fatal("IsRetry does not see through wrapping")
	}
	if pipeline.IsRetry(errRefused) || pipeline.Retry(nil) != nil {
		t.Fatal("plain error taken as retryable, or Retry(nil) != nil")
	}
}

func TestShutdownRetriesAtOnceInsteadOfWaitingOutTheBackoff(t *testing.T) {
	r := &recorder{fail: func(_ context.Context, n int, _ []int) error {
		if n == 0 {
			return pipeline.Retry(errRefused)
		}
		return nil
	}}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Millisecond,
		MinBackoff: time.Hour, MaxBackoff: time.Hour, Logf: func(string, ...any) {}}, r)
	enqueueAll(t, p, seq(5))
	waitFor(t, "the first attempt", func() bool { return p.Stats().Retries == 1 })
	shutdown(t, p) // fails unless it cuts the hour-long backoff short
	if got := r.items(); !slices.Equal(got, seq(5)) {
		t.Fatalf("delivered %v", got)
	}
}

// A sender that delivered part of a batch (some datagrams of it went out) says so with
// Partial: the delivered items count as sent, the rest as failed, and none is sent
// again, even when the error it wraps is a Retry.
func TestPartialDeliveryCountsWhatWentOut(t *testing.T) {
	calls := 0
	r := &recorder{fail: func(_ context.Context, n int, batch []int) error {
		calls++
		switch n {
		case 0:
			return pipeline.Partial(errors.New("datagram 2 of 2 refused"), 3)
		case 1:
			return pipeline.Partial(pipeline.Retry(errRefused), 1)
		}
		return nil
	}}
	logs := &logLines{}
	p := pipeline.New[int](pipeline.Config{BatchSize: 5, FlushInterval: time.Hour, MinBackoff: time.Millisecond, Logf: logs.logf}, r)
	enqueueAll(t, p, seq(15))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "6 items failed") {
		t.Errorf("Shutdown: %v, want it to report the 6 items lost", err)
	}
	s := p.Stats()
	if calls != 3 || s.Sent != 3+1+5 || s.Failed != 2+4 || s.Retries != 0 || s.Queued != 0 {
		t.Fatalf("%d calls, stats %+v: want 3 calls, 9 sent, 6 failed, no retry", calls, s)
	}
	if lines := logs.get(); len(lines) == 0 || !strings.Contains(lines[0], "2 items lost") {
		t.Fatalf("log lines %q, want the first to say 2 items lost", lines)
	}
}
