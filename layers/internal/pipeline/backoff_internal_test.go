package pipeline

import (
	"context"
	"testing"
	"time"
)

type nopSender struct{}

func (nopSender) Send(context.Context, []int) error { return nil }

func TestBackoffDoublesWithJitterWithinBounds(t *testing.T) {
	p := New[int](Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, nopSender{})
	defer p.Shutdown(context.Background())
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		full *= time.Millisecond
		lo := max(full/2, 100*time.Millisecond)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.backoff(attempt)
			if d < lo || d > full {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, lo, full)
			}
			seen[d] = true
		}
		if attempt > 0 && len(seen) < 10 {
			t.Fatalf("attempt %d: only %d distinct waits in 200: no jitter", attempt, len(seen))
		}
	}
	if d := p.backoff(1000); d > time.Second {
		t.Fatalf("backoff after many attempts %v, over MaxBackoff", d)
	}
}
