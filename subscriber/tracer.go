package subscriber

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
)

// Tracer starts spans and logs events under one target, the name filter directives match
// (by convention the package path, "songs/db"). Make one per package and keep it in a
// package-level variable: it caches what the filters said about its target, which is what
// makes a disabled call cost a few nanoseconds.
//
// A Tracer from [NewTracer] follows the default dispatch (see [SetDefault]); one from
// [Dispatch.Tracer] is bound to that dispatch.
type Tracer struct {
	target string
	d      *Dispatch // nil: the default
	cache  atomic.Pointer[interest]
}

type interest struct {
	d     *Dispatch
	epoch uint64
	min   Level
}

// NewTracer returns a tracer for target that uses the default dispatch.
func NewTracer(target string) *Tracer { return &Tracer{target: target} }

// Tracer returns a tracer for target bound to d.
func (d *Dispatch) Tracer(target string) *Tracer { return &Tracer{target: target, d: d} }

// Target returns the tracer's target.
func (t *Tracer) Target() string { return t.target }

func (t *Tracer) dispatch() *Dispatch {
	if t.d != nil {
		return t.d
	}
	return defaultDispatch.Load()
}

// on is the fast path of every call: the dispatch's level floor, then what the filters
// said about this target (cached per dispatch and interest epoch).
func (t *Tracer) on(d *Dispatch, level Level) bool {
	if level < Level(d.minLevel.Load()) {
		return false
	}
	if c := t.cache.Load(); c != nil && c.d == d && c.epoch == interestEpoch.Load() {
		return level >= c.min
	}
	return level >= t.targetMin(d)
}

// targetMin recomputes the most verbose level any layer may enable for the target.
func (t *Tracer) targetMin(d *Dispatch) Level {
	epoch := interestEpoch.Load()
	c := &interest{d: d, epoch: epoch, min: d.targetLevel(t.target)}
	t.cache.Store(c)
	return c.min
}

// Enabled reports whether a span or event at level might be enabled for this tracer's
// target. Use it to skip building expensive fields.
func (t *Tracer) Enabled(level Level) bool {
	return t.on(t.dispatch(), level)
}

// Start starts an INFO span named name with fields, as a child of the span in ctx (or of
// the remote parent in ctx, or as a new trace). It returns a ctx that carries the new
// span; end the span with End or EndErr, usually deferred:
//
//	ctx, span := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
//	defer span.End()
//
// A disabled span is the zero Span and the returned ctx is ctx itself.
func (t *Tracer) Start(ctx context.Context, name string, fields ...slog.Attr) (context.Context, Span) {
	d := t.dispatch()
	if !t.on(d, LevelInfo) {
		return ctx, Span{}
	}
	return d.startSpan(ctx, t.meta(d, LevelInfo, KindSpan, name), fields, startOpts{})
}

// StartLevel is Start at the given level.
func (t *Tracer) StartLevel(ctx context.Context, level Level, name string, fields ...slog.Attr) (context.Context, Span) {
	d := t.dispatch()
	if !t.on(d, level) {
		return ctx, Span{}
	}
	return d.startSpan(ctx, t.meta(d, level, KindSpan, name), fields, startOpts{})
}

// meta builds metadata, capturing the caller's PC when a layer wants locations. It must
// be called directly from the exported method the user called.
func (t *Tracer) meta(d *Dispatch, level Level, kind Kind, name string) Metadata {
	m := Metadata{Name: name, Target: t.target, Level: level, Kind: kind}
	if d.wantPC {
		var pcs [1]uintptr
		runtime.Callers(3, pcs[:]) // Callers, meta, the exported method
		m.PC = pcs[0]
	}
	return m
}

// Trace logs a TRACE event in the span ctx carries.
func (t *Tracer) Trace(ctx context.Context, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, LevelTrace) {
		return
	}
	d.event(ctx, t.meta(d, LevelTrace, KindEvent, msg), fields)
}

// Debug logs a DEBUG event in the span ctx carries.
func (t *Tracer) Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, LevelDebug) {
		return
	}
	d.event(ctx, t.meta(d, LevelDebug, KindEvent, msg), fields)
}

// Info logs an INFO event in the span ctx carries.
func (t *Tracer) Info(ctx context.Context, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, LevelInfo) {
		return
	}
	d.event(ctx, t.meta(d, LevelInfo, KindEvent, msg), fields)
}

// Warn logs a WARN event in the span ctx carries.
func (t *Tracer) Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, LevelWarn) {
		return
	}
	d.event(ctx, t.meta(d, LevelWarn, KindEvent, msg), fields)
}

// Error logs an ERROR event in the span ctx carries. Storage keeps an "error" field of
// the event on the span, so the span counts as failed.
func (t *Tracer) Error(ctx context.Context, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, LevelError) {
		return
	}
	d.event(ctx, t.meta(d, LevelError, KindEvent, msg), fields)
}

// Log logs an event at any level in the span ctx carries.
func (t *Tracer) Log(ctx context.Context, level Level, msg string, fields ...slog.Attr) {
	d := t.dispatch()
	if !t.on(d, level) {
		return
	}
	d.event(ctx, t.meta(d, level, KindEvent, msg), fields)
}

// std is the tracer behind the package-level functions: target "", default dispatch.
var std = NewTracer("")

// Start starts an INFO span with the default dispatch and an empty target; see
// [Tracer.Start]. Prefer a package-level [Tracer] so target directives apply.
func Start(ctx context.Context, name string, fields ...slog.Attr) (context.Context, Span) {
	d := std.dispatch()
	if !std.on(d, LevelInfo) {
		return ctx, Span{}
	}
	return d.startSpan(ctx, std.meta(d, LevelInfo, KindSpan, name), fields, startOpts{})
}

// Info logs an INFO event with the default dispatch; see [Tracer.Info].
func Info(ctx context.Context, msg string, fields ...slog.Attr) {
	d := std.dispatch()
	if !std.on(d, LevelInfo) {
		return
	}
	d.event(ctx, std.meta(d, LevelInfo, KindEvent, msg), fields)
}

// Warn logs a WARN event with the default dispatch; see [Tracer.Warn].
func Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	d := std.dispatch()
	if !std.on(d, LevelWarn) {
		return
	}
	d.event(ctx, std.meta(d, LevelWarn, KindEvent, msg), fields)
}

// Error logs an ERROR event with the default dispatch; see [Tracer.Error].
func Error(ctx context.Context, msg string, fields ...slog.Attr) {
	d := std.dispatch()
	if !std.on(d, LevelError) {
		return
	}
	d.event(ctx, std.meta(d, LevelError, KindEvent, msg), fields)
}

// Debug logs a DEBUG event with the default dispatch; see [Tracer.Debug].
func Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	d := std.dispatch()
	if !std.on(d, LevelDebug) {
		return
	}
	d.event(ctx, std.meta(d, LevelDebug, KindEvent, msg), fields)
}
