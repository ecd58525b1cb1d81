package subscriber

import (
	"context"

	"github.com/strata-go/strata/registry"
)

// currentKey is the context key under which the current span, or the remote parent to
// continue, is found. Both answer to the same key so the nearest one wins.
type currentKey struct{}

// spanCtx is the context returned by Start: one allocation that carries the span.
type spanCtx struct {
	context.Context
	h     registry.Handle
	trace registry.TraceID // kept so that a child of an ended span stays in the trace
	id    registry.SpanID
	d     *Dispatch
}

func (c *spanCtx) Value(key any) any {
	if key == (currentKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *spanCtx) String() string { return "subscriber.spanCtx" }

// remoteCtx carries a remote parent extracted from a carrier.
type remoteCtx struct {
	context.Context
	remote *RemoteParent
}

func (c *remoteCtx) Value(key any) any {
	if key == (currentKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *remoteCtx) String() string { return "subscriber.remoteCtx" }

// current returns the *spanCtx or *remoteCtx nearest to ctx, or nil.
func current(ctx context.Context) any {
	if ctx == nil {
		return nil
	}
	if c, ok := ctx.(*spanCtx); ok {
		return c
	}
	return ctx.Value(currentKey{})
}

// SpanFromContext returns the span that ctx carries, or the zero Span.
func SpanFromContext(ctx context.Context) Span {
	if c, ok := current(ctx).(*spanCtx); ok {
		return Span{h: c.h}
	}
	return Span{}
}

// ContextWithSpan returns a copy of ctx that carries s as the current span. Use it to
// carry a span across an API that drops the context; Start already returns such a ctx.
func ContextWithSpan(ctx context.Context, s Span) context.Context {
	r := s.h.Acquire()
	if r == nil {
		return ctx
	}
	defer r.Release()
	return &spanCtx{Context: ctx, h: s.h, trace: r.TraceID(), id: r.ID(), d: stateOf(r).d}
}

// TraceID returns the trace id of the span (or remote parent) ctx carries, for log
// correlation; the zero TraceID when there is none. It stays valid after the span ended.
func TraceID(ctx context.Context) registry.TraceID {
	switch c := current(ctx).(type) {
	case *spanCtx:
		return c.trace
	case *remoteCtx:
		return c.remote.TraceID
	}
	return registry.TraceID{}
}

// SpanID returns the id of the span ctx carries, or 0.
func SpanID(ctx context.Context) registry.SpanID {
	if c, ok := current(ctx).(*spanCtx); ok {
		return c.id
	}
	return 0
}
