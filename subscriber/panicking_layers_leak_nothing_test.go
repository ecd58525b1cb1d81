package subscriber_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// panicky panics in the hooks named in its fields, and counts the closes it gets.
type panicky struct {
	inNewSpan, inClose, inEvent bool
	closes                      atomic.Int64
}

func (p *panicky) OnNewSpan(subscriber.SpanRef, []slog.Attr) {
	if p.inNewSpan {
		panic("OnNewSpan")
	}
}

func (p *panicky) OnClose(subscriber.SpanRef) {
	p.closes.Add(1)
	if p.inClose {
		panic("OnClose")
	}
}

func (p *panicky) OnEvent(*subscriber.Event) {
	if p.inEvent {
		panic("OnEvent")
	}
}

// recovered runs f as net/http runs a handler: a panic is recovered and returned.
func recovered(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// A panic in a filter or a layer reaches the caller (net/http recovers it), and leaves no
// record behind: the live count returns to zero, and every layer that saw the span start
// sees it close.
func TestAPanickingLayerOrFilterReachesTheCallerAndLeaksNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("filter", func(t *testing.T) {
		boom := subscriber.FilterFunc(func(*subscriber.Metadata, subscriber.Scope) bool { panic("filter") })
		d := subscriber.MustNew(&counter{}, subscriber.WithFilter(&counter{}, boom))
		if p := recovered(func() { d.Tracer("test").Start(ctx, "s") }); p != "filter" {
			t.Fatalf("recovered %v, want the filter's panic", p)
		}
		if n := d.Registry().Live(); n != 0 {
			t.Fatalf("Live() = %d, want 0", n)
		}
	})
	t.Run("filter/child", func(t *testing.T) {
		var armed atomic.Bool
		boom := subscriber.FilterFunc(func(*subscriber.Metadata, subscriber.Scope) bool {
			if armed.Load() {
				panic("filter")
			}
			return true
		})
		d := subscriber.MustNew(subscriber.WithFilter(&counter{}, boom))
		tr := d.Tracer("test")
		pctx, parent := tr.Start(ctx, "parent")
		armed.Store(true)
		if p := recovered(func() { tr.Start(pctx, "child") }); p != "filter" {
			t.Fatalf("Start recovered %v, want the filter's panic", p)
		}
		if p := recovered(func() { tr.Info(pctx, "event") }); p != "filter" {
			t.Fatalf("Info recovered %v, want the filter's panic", p)
		}
		parent.End()
		if n := d.Registry().Live(); n != 0 {
			t.Fatalf("Live() = %d, want 0", n)
		}
	})
	t.Run("OnNewSpan", func(t *testing.T) {
		first, bad := &panicky{}, &panicky{inNewSpan: true}
		d := subscriber.MustNew(first, bad)
		if p := recovered(func() { d.Tracer("test").Start(ctx, "s") }); p != "OnNewSpan" {
			t.Fatalf("recovered %v, want the layer's panic", p)
		}
		if first.closes.Load() != 1 {
			t.Errorf("the layer that saw OnNewSpan got %d OnClose, want 1", first.closes.Load())
		}
		if n := d.Registry().Live(); n != 0 {
			t.Fatalf("Live() = %d, want 0", n)
		}
	})
	t.Run("OnClose", func(t *testing.T) {
		bad, after := &panicky{inClose: true}, &panicky{}
		d := subscriber.MustNew(bad, after)
		tr := d.Tracer("test")
		pctx, parent := tr.Start(ctx, "parent")
		_, child := tr.Start(pctx, "child")
		if p := recovered(child.End); p != "OnClose" {
			t.Fatalf("recovered %v, want the layer's panic", p)
		}
		if after.closes.Load() != 1 {
			t.Errorf("the layer after the panicking one got %d OnClose, want 1", after.closes.Load())
		}
		if p := recovered(parent.End); p != "OnClose" {
			t.Fatalf("recovered %v, want the layer's panic", p)
		}
		if n := d.Registry().Live(); n != 0 {
			t.Fatalf("Live() = %d, want 0", n)
		}
	})
	t.Run("OnEvent", func(t *testing.T) {
		d := subscriber.MustNew(&panicky{inEvent: true})
		tr := d.Tracer("test")
		sctx, span := tr.Start(ctx, "s")
		if p := recovered(func() { tr.Info(sctx, "boom") }); p != "OnEvent" {
			t.Fatalf("recovered %v, want the layer's panic", p)
		}
		span.End()
		if n := d.Registry().Live(); n != 0 {
			t.Fatalf("Live() = %d, want 0: the event kept a reference on its span", n)
		}
	})
}
