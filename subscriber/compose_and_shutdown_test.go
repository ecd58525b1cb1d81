package subscriber_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

type notALayer struct{}

func (notALayer) OnClose() {} // wrong signature: implements nothing

func TestComposingAValueWithNoHookFailsNamingIt(t *testing.T) {
	_, err := subscriber.New(&counter{}, notALayer{})
	if err == nil || !strings.Contains(err.Error(), "layer 1") || !strings.Contains(err.Error(), "notALayer") {
		t.Fatalf("err = %v, want an error naming layer 1 and its type", err)
	}
	if _, err := subscriber.New(nil); err == nil {
		t.Fatal("a nil layer was accepted")
	}
}

type owner struct {
	counter
	shutdowns int
	err       error
}

func (o *owner) Shutdown(context.Context) error { o.shutdowns++; return o.err }

func TestShutdownStopsOwnersOnceAndDisablesTheDispatch(t *testing.T) {
	o := &owner{err: errors.New("queue not drained")}
	d := subscriber.MustNew(o)
	tr := d.Tracer("test")
	_, s := tr.Start(context.Background(), "before")
	s.End()
	err := d.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "queue not drained") {
		t.Fatalf("Shutdown error = %v, want the layer's error", err)
	}
	if err := d.Shutdown(context.Background()); err != nil || o.shutdowns != 1 {
		t.Fatalf("second Shutdown: err=%v shutdowns=%d, want nil and 1", err, o.shutdowns)
	}
	_, s = tr.Start(context.Background(), "after")
	tr.Error(context.Background(), "after")
	if s.IsRecording() || o.newSpans.Load() != 1 || o.events.Load() != 0 {
		t.Fatalf("after Shutdown: recording=%v newSpans=%d events=%d, want nothing new", s.IsRecording(), o.newSpans.Load(), o.events.Load())
	}
}

func TestDefaultDispatchIsANoOpUntilSet(t *testing.T) {
	_, s := subscriber.Start(context.Background(), "nothing")
	if s.IsRecording() {
		t.Fatal("a span recorded with no default dispatch set")
	}
	c := &counter{}
	restore := subscriber.SetDefault(subscriber.MustNew(c))
	defer restore()
	ctx, s := subscriber.Start(context.Background(), "something")
	subscriber.Info(ctx, "hello")
	s.End()
	if c.newSpans.Load() != 1 || c.events.Load() != 1 || c.closes.Load() != 1 {
		t.Fatalf("default dispatch saw new=%d events=%d closes=%d, want 1 each", c.newSpans.Load(), c.events.Load(), c.closes.Load())
	}
}
