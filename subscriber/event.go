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
	if ctx == nil {
		ctx = context.Background()
	}
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

// eventMask returns the layers that enable ev. Should a filter panic, ev is given back
// (with its reference on the span) before the panic goes on.
func (d *Dispatch) eventMask(ev *Event) uint64 {
	done := false
	defer func() {
		if !done {
			d.putEvent(ev)
		}
	}()
	mask := d.enabledMask(&ev.Meta, Scope{Parent: ev.Span, Fields: ev.Attrs})
	done = true
	return mask
}

// deliverEvent sends ev to the layers in mask, then gives back the span reference and
// returns ev to the pool, also when a layer panics (the panic goes on to the caller).
func (d *Dispatch) deliverEvent(ev *Event, mask uint64) {
	defer d.putEvent(ev)
	if mask == 0 {
		return
	}
	for i := range d.layers {
		l := &d.layers[i]
		if mask&l.bit != 0 {
			l.event.OnEvent(ev)
		}
	}
}

func (d *Dispatch) putEvent(ev *Event) {
	if ev.Span.rec != nil {
		ev.Span.rec.Release()
	}
	clear(ev.Attrs)
	*ev = Event{Attrs: ev.Attrs[:0]}
	d.events.Put(ev)
}
