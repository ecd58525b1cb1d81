package subscriber_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/subscriber"
)

// stuckLayer's Shutdown blocks until released, ignoring ctx, as a layer writing to a
// destination that never answers does.
type stuckLayer struct {
	counter
	release chan struct{}
}

func (s *stuckLayer) Shutdown(context.Context) error { <-s.release; return nil }

type flushRecorder struct {
	counter
	flushed bool
}

func (f *flushRecorder) Flush(context.Context) error { f.flushed = true; return nil }

// Shutdown returns by ctx's deadline even when a layer does not, says which layer did not
// finish, and still shuts the later layers down.
func TestShutdownReturnsByTheDeadlineAndNamesTheLayerThatDidNotFinish(t *testing.T) {
	stuck := &stuckLayer{release: make(chan struct{})}
	defer close(stuck.release)
	after := &flushRecorder{}
	d := subscriber.MustNew(stuck, after)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Shutdown(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Shutdown took %v with a 100ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stuckLayer") {
		t.Fatalf("Shutdown() = %v, want an error naming stuckLayer and wrapping DeadlineExceeded", err)
	}
	if !after.flushed {
		t.Error("the layer after the stuck one was not flushed")
	}
}
