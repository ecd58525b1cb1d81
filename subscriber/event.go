package subscriber

import (
	"context"
	"log/slog"
	"time"

	"github.com/strata-go/strata/registry"
)

// Event is one log event as layers see it in OnEvent. It is pooled: it is valid only
// during the call, and a layer must copy whatever it keeps.
type Event struct {
	Meta    Metadata // Meta.Name is the message
	Time    time.Time
	Message string
	// Attrs are the event's fields, LogValuers resolved and groups flattened.
	Attrs []slog.Attr
	// Span is the span the event happened in, or the zero SpanRef.
	Span SpanRef
	// TraceID is the trace of the context the event was logged with. It is set even when
	// the span already ended or belongs to another dispatch.
	TraceID registry.TraceID
	// Context is the context the event was logged with.
	Context context.Context
}

// Level returns the event's level.
func (e *Event) Level() Level { return e.Meta.Level }

func (d *Dispatch) getEvent(ctx context.Context, meta Metadata) *Event {
	ev := d.events.Get().(*Event)
	ev.Meta = meta
	ev.Message = meta.Name
	ev.Context = ctx
	switch c := current(ctx).(type) {
	case *spanCtx:
		ev.TraceID = c.trace
		if c.d == d {
			if r := c.h.Acquire(); r != nil {
				ev.Span = SpanRef{r, stateOf(r)}
			}
		}
	case *remoteCtx:
		ev.TraceID = c.remote.TraceID
	}
	return ev
}

// dispatchEvent sends ev to every layer whose filter enables it, then returns it to the
// pool.
func (d *Dispatch) dispatchEvent(ev *Event) {
	if ev.Time.IsZero() {
		// The monotonic clock from the registry's anchor: cheaper than time.Now (one
		// clock read instead of two) and on the same timeline as span starts and ends.
		ev.Time = registry.Time(registry.Nanotime())
	}
	for i := range d.layers {
		l := &d.layers[i]
		if l.event != nil && l.enabled(&ev.Meta, Scope{Parent: ev.Span, Fields: ev.Attrs}) {
			l.event.OnEvent(ev)
		}
	}
	if ev.Span.rec != nil {
		ev.Span.rec.Release()
	}
	clear(ev.Attrs)
	*ev = Event{Attrs: ev.Attrs[:0]}
	d.events.Put(ev)
}

func (d *Dispatch) event(ctx context.Context, meta Metadata, attrs []slog.Attr) {
	if !d.hasEvent {
		return
	}
	ev := d.getEvent(ctx, meta)
	ev.Attrs = appendAttrs(ev.Attrs[:0], attrs)
	d.dispatchEvent(ev)
}
