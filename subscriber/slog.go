package subscriber

import (
	"context"
	"log/slog"
)

// SlogHandler is a slog.Handler that sends records through a dispatch's layers as
// events, in the span the record's ctx carries. It turns existing slog call sites into
// Strata events:
//
//	slog.SetDefault(slog.New(subscriber.NewSlogHandler("songs")))
//	slog.InfoContext(ctx, "cache miss", "key", k) // an event in ctx's span
//
// Use the *Context variants of slog's functions: without a ctx the event is in no span.
type SlogHandler struct {
	t      *Tracer
	attrs  []slog.Attr // from WithAttrs, already flattened and prefixed
	prefix string      // open groups, as "a.b."
}

// NewSlogHandler returns a handler for target that uses the default dispatch.
func NewSlogHandler(target string) *SlogHandler { return &SlogHandler{t: NewTracer(target)} }

// SlogHandler returns a handler for target bound to d.
func (d *Dispatch) SlogHandler(target string) *SlogHandler {
	return &SlogHandler{t: d.Tracer(target)}
}

// Enabled reports whether some layer may want a record at level.
func (h *SlogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return h.t.Enabled(Level(level))
}

// Handle sends r as an event. A zero r.Time stays zero (slog's rule: the time is left
// out), so layers print no timestamp for it.
func (h *SlogHandler) Handle(ctx context.Context, r slog.Record) error {
	d := h.t.dispatch()
	if !d.hasEvent {
		return nil
	}
	level := Level(r.Level)
	ev := d.getEvent(ctx, Metadata{Name: r.Message, Target: h.t.target, Level: level, Kind: KindEvent})
	ev.Time = r.Time
	ev.Attrs = append(ev.Attrs[:0], h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		ev.Attrs = appendAttr(ev.Attrs, h.prefix, a)
		return true
	})
	var mask uint64
	if h.t.floors[min(len(ev.Attrs), 1)].Load() <= int64(level) && h.t.wants(d, level, KindEvent, ev.Attrs) {
		mask = d.eventMask(ev)
	}
	if mask&d.eventLoc != 0 {
		ev.Meta.PC = r.PC
	}
	d.deliverEvent(ev, mask)
	return nil
}

// WithAttrs returns a handler whose events carry attrs too, inside the open groups.
func (h *SlogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = make([]slog.Attr, len(h.attrs), len(h.attrs)+len(attrs))
	copy(h2.attrs, h.attrs)
	for _, a := range attrs {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

// WithGroup returns a handler that puts the keys of later attributes under name
// (flattened to "name.key").
func (h *SlogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}
