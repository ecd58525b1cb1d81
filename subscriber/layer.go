package subscriber

import (
	"context"
	"log/slog"
)

// Layer is a value that observes spans and events. A layer implements whichever of the
// hook interfaces below it cares about, and nothing else:
//
//	NewSpanHook     OnNewSpan(span SpanRef, fields []slog.Attr)
//	RecordHook      OnRecord(span SpanRef, fields []slog.Attr)
//	FollowsFromHook OnFollowsFrom(span, follows SpanRef)
//	EventHook       OnEvent(ev *Event)
//	EnterHook       OnEnter(span SpanRef)
//	ExitHook        OnExit(span SpanRef)
//	CloseHook       OnClose(span SpanRef)
//
// and optionally [Enabler] (its own filter), [Propagator], [Flusher], [Shutdowner],
// [LocationWanter] and [SpanLocationWanter]. Which hooks a layer has is found once, when [New] composes the layers;
// a hook a layer lacks costs nothing per call.
//
// Hooks may run concurrently from many goroutines, also for one span (events from two
// goroutines inside the same span, for instance). The fields slices, the SpanRef and the
// *Event are valid only during the call: copy what you keep.
type Layer any

// NewSpanHook is called when a span starts, with the span's own fields (LogValuers
// resolved, groups flattened to dotted keys). Its parent, if any, is span.Parent().
type NewSpanHook interface {
	OnNewSpan(span SpanRef, fields []slog.Attr)
}

// RecordHook is called when fields are added to or updated on a span, with those fields.
type RecordHook interface {
	OnRecord(span SpanRef, fields []slog.Attr)
}

// FollowsFromHook is called when span is marked as caused by follows, a span that is not
// its parent.
type FollowsFromHook interface {
	OnFollowsFrom(span, follows SpanRef)
}

// EventHook is called for each enabled event. ev.Span is the span the event happened in
// (the zero SpanRef outside spans).
type EventHook interface {
	OnEvent(ev *Event)
}

// EnterHook is called when a span becomes active: right after OnNewSpan, and on
// [Span.Enter].
type EnterHook interface {
	OnEnter(span SpanRef)
}

// ExitHook is called when a span stops being active: on [Span.Exit], and at End before
// OnClose if the span was still entered.
type ExitHook interface {
	OnExit(span SpanRef)
}

// CloseHook is called once, when a span ends. The span and its parent are still readable.
type CloseHook interface {
	OnClose(span SpanRef)
}

// Enabler lets a layer filter for itself, like a [Filter] attached with [WithFilter]. A
// layer may implement [LevelHinter] too, so that spans it never wants cost nothing.
type Enabler interface {
	Enabled(meta *Metadata, scope Scope) bool
}

// Flusher is implemented by layers that buffer output. [Dispatch.Flush] calls it.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Shutdowner is implemented by layers that own resources (goroutines, connections,
// files). [Dispatch.Shutdown] calls it once; it must flush what it can within ctx and
// stop every goroutine the layer started.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// LocationWanter is implemented by layers that print the source location of events.
// When any composed layer returns true, events capture their caller's program counter in
// [Metadata].PC; otherwise no time is spent on it.
type LocationWanter interface {
	WantsLocation() bool
}

// SpanLocationWanter is LocationWanter for spans: when a layer returns true, Start
// captures the caller's PC in the span's [Metadata].PC.
type SpanLocationWanter interface {
	WantsSpanLocation() bool
}

// Scope is what a filter sees besides the metadata: for a span, its parent and its own
// fields; for an event, the span it happens in and the event's fields. Both are valid
// only during the call.
type Scope struct {
	Parent SpanRef
	Fields []slog.Attr
}

// Filter decides whether a span or an event is enabled for the layer it is attached to
// (see [WithFilter]). Enabled may be called from many goroutines at once.
//
// A filter may also implement [LevelHinter] and [TargetHinter]; with them, spans and
// events that no layer can want are rejected before any work, in a few nanoseconds.
type Filter interface {
	Enabled(meta *Metadata, scope Scope) bool
}

// FilterFunc adapts a function to a Filter.
type FilterFunc func(meta *Metadata, scope Scope) bool

// Enabled calls f.
func (f FilterFunc) Enabled(meta *Metadata, scope Scope) bool { return f(meta, scope) }

// LevelHinter gives the most verbose level a filter (or a layer's [Enabler]) can ever
// enable. Filters that cannot say return LevelTrace.
type LevelHinter interface {
	LevelHint() Level
}

// TargetHinter gives the most verbose level a filter can enable for a target, whatever
// the span name, fields or scope. It is asked once per target and epoch; see
// [RebuildInterest].
type TargetHinter interface {
	TargetLevelHint(target string) Level
}

// filtered is a layer with a per-layer filter attached by WithFilter.
type filtered struct {
	layer  Layer
	filter Filter
}

// WithFilter attaches a filter to a layer: the layer sees only the spans and events the
// filter enables, and the span hooks of only the spans it enabled. Other layers are not
// affected. Filtering an already filtered layer requires both filters to pass.
func WithFilter(layer Layer, f Filter) Layer {
	if inner, ok := layer.(*filtered); ok {
		return &filtered{layer: inner.layer, filter: andFilter{inner.filter, f}}
	}
	return &filtered{layer: layer, filter: f}
}

type andFilter struct{ a, b Filter }

func (f andFilter) Enabled(m *Metadata, s Scope) bool {
	return f.a.Enabled(m, s) && f.b.Enabled(m, s)
}

func (f andFilter) LevelHint() Level { return max(LevelHintOf(f.a), LevelHintOf(f.b)) }

func (f andFilter) TargetLevelHint(t string) Level {
	return max(TargetHintOf(f.a, t), TargetHintOf(f.b, t))
}

// LevelHintOf returns f's [LevelHinter] answer, or LevelTrace (anything may be enabled)
// when f gives none. Filters that combine others use it.
func LevelHintOf(f any) Level {
	if h, ok := f.(LevelHinter); ok {
		return h.LevelHint()
	}
	return LevelTrace
}

// TargetHintOf returns f's [TargetHinter] answer for target, falling back to
// [LevelHintOf].
func TargetHintOf(f any, target string) Level {
	if h, ok := f.(TargetHinter); ok {
		return h.TargetLevelHint(target)
	}
	return LevelHintOf(f)
}
