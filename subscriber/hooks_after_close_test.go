package subscriber_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/subscriber"
)

// orderLog records the hooks each span got, in order.
type orderLog struct {
	mu   sync.Mutex
	seen []string
}

func (o *orderLog) add(s string) {
	o.mu.Lock()
	o.seen = append(o.seen, s)
	o.mu.Unlock()
}

func (o *orderLog) hooks() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

func (o *orderLog) OnEnter(subscriber.SpanRef)                           { o.add("enter") }
func (o *orderLog) OnExit(subscriber.SpanRef)                            { o.add("exit") }
func (o *orderLog) OnFollowsFrom(subscriber.SpanRef, subscriber.SpanRef) { o.add("follows") }
func (o *orderLog) OnClose(subscriber.SpanRef)                           { o.add("close") }

// gate blocks inside the chosen hook until released, once armed.
type gate struct {
	armed   chan struct{} // closed: the next hook call blocks
	inside  chan struct{} // closed when a hook call is blocked
	release chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{armed: make(chan struct{}), inside: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) block() {
	select {
	case <-g.armed:
		g.once.Do(func() { close(g.inside); <-g.release })
	default:
	}
}

type enterGate struct{ *gate }

func (g enterGate) OnEnter(subscriber.SpanRef) { g.block() }

type exitGate struct{ *gate }

func (g exitGate) OnExit(subscriber.SpanRef) { g.block() }

type followsGate struct{ *gate }

func (g followsGate) OnFollowsFrom(subscriber.SpanRef, subscriber.SpanRef) { g.block() }

// No layer may see a span hook after that span's OnClose: a hook that started before a
// racing End finishes before End's OnClose, whatever the layer does meanwhile.
func TestNoSpanHookReachesALayerAfterItsOnClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate func(*gate) subscriber.Layer
		call func(span, other subscriber.Span)
		want string
	}{
		{"Enter", func(g *gate) subscriber.Layer { return enterGate{g} }, func(s, _ subscriber.Span) { s.Enter() }, "enter"},
		{"Exit", func(g *gate) subscriber.Layer { return exitGate{g} }, func(s, _ subscriber.Span) { s.Exit() }, "exit"},
		{"FollowsFrom", func(g *gate) subscriber.Layer { return followsGate{g} }, func(s, o subscriber.Span) { s.FollowsFrom(o) }, "follows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			log := &orderLog{}
			d := subscriber.MustNew(tc.gate(g), log)
			tr := d.Tracer("test")
			_, other := tr.Start(context.Background(), "other")
			defer other.End()
			_, span := tr.Start(context.Background(), "span")
			if tc.name == "Enter" {
				span.Exit() // so that Enter has something to do
			}
			close(g.armed)
			hookDone := make(chan struct{})
			go func() { defer close(hookDone); tc.call(span, other) }()
			<-g.inside // the first layer is inside the hook; the second has not seen it yet
			endDone := make(chan struct{})
			go func() { defer close(endDone); span.End() }()
			select {
			case <-endDone:
			case <-time.After(50 * time.Millisecond): // End waits, as it should
			}
			close(g.release)
			<-hookDone
			<-endDone
			got := log.hooks()
			closeAt, hookAt := -1, -1
			for i, h := range got {
				if h == "close" {
					closeAt = i
				}
				if h == tc.want {
					hookAt = i
				}
			}
			if closeAt < 0 || hookAt > closeAt {
				t.Fatalf("hooks in order %q: %s came after close", got, tc.want)
			}
			if d.Registry().Live() != 1 { // other is still open
				t.Fatalf("Live() = %d, want 1", d.Registry().Live())
			}
		})
	}
}

// An event racing End reaches OnEvent either before End started, or with ev.Span
// reporting Closed (or, once the span's record is gone, with the zero ev.Span and the
// trace id in ev.TraceID): a layer never sees an open-looking span after its OnClose.
func TestEventRacingEndSeesTheSpanClosedOnceEndBegan(t *testing.T) {
	var mu sync.Mutex
	closed := false
	bad := 0
	l := &eventAndClose{
		onEvent: func(ev *subscriber.Event) {
			mu.Lock()
			defer mu.Unlock()
			if closed && !ev.Span.IsZero() && !ev.Span.Closed() {
				bad++
			}
		},
		onClose: func() { mu.Lock(); closed = true; mu.Unlock() },
	}
	d := subscriber.MustNew(l)
	tr := d.Tracer("test")
	for i := 0; i < 200; i++ {
		mu.Lock()
		closed = false
		mu.Unlock()
		ctx, span := tr.Start(context.Background(), "s")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); tr.Info(ctx, "racing") }()
		go func() { defer wg.Done(); span.End() }()
		wg.Wait()
	}
	if bad != 0 {
		t.Fatalf("%d events saw an open span after its OnClose", bad)
	}
	if d.Registry().Live() != 0 {
		t.Fatalf("Live() = %d, want 0", d.Registry().Live())
	}
}

type eventAndClose struct {
	onEvent func(*subscriber.Event)
	onClose func()
}

func (e *eventAndClose) OnEvent(ev *subscriber.Event) { e.onEvent(ev) }
func (e *eventAndClose) OnClose(subscriber.SpanRef)   { e.onClose() }
