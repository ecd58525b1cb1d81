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
	dp     *atomic.Pointer[Dispatch] // &defaultDispatch, or the tracer's own bound pointer
	floor  *atomic.Int64             // the level floor of *dp: &defaultFloor or &d.minLevel
	cache  atomic.Pointer[interest]
}

type interest struct {
	d     *Dispatch
	epoch uint64
	min   Level
}

// NewTracer returns a tracer for target that uses the default dispatch.
func NewTracer(target string) *Tracer {
	return &Tracer{target: target, dp: &defaultDispatch, floor: &defaultFloor}
}

// Tracer returns a tracer for target bound to d.
func (d *Dispatch) Tracer(target string) *Tracer {
	t := &Tracer{target: target, dp: new(atomic.Pointer[Dispatch]), floor: &d.minLevel}
	t.dp.Store(d)
	return t
}

// Target returns the tracer's target.
func (t *Tracer) Target() string { return t.target }

func (t *Tracer) dispatch() *Dispatch { return t.dp.Load() }

// on is the fast path of every call: the dispatch's level floor, then what the filters
// said about this target (cached per dispatch and interest epoch).
func (t *Tracer) on(d *Dispatch, level Level) bool {
	return int64(level) >= t.floor.Load() && t.cached(d, level)
}

// cached answers from the per-target cache, rebuilding it when stale.
func (t *Tracer) cached(d *Dispatch, level Level) bool {
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
func (t *Tracer) Start(ctx context.Context, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if t.floor.Load() <= int64(LevelInfo) {
		ctx, span = t.start(ctx, LevelInfo, name, fields)
	}
	return ctx, span
}

// StartLevel is Start at the given level.
func (t *Tracer) StartLevel(ctx context.Context, level Level, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if t.floor.Load() <= int64(level) {
		ctx, span = t.start(ctx, level, name, fields)
	}
	return ctx, span
}

// start is the part of Start after the level floor. It must be called directly from the
// exported method the user called, for the PC to be the user's.
func (t *Tracer) start(ctx context.Context, level Level, name string, fields []slog.Attr) (context.Context, Span) {
	d := t.dispatch()
	if !t.cached(d, level) {
		return ctx, Span{}
	}
	return d.startSpan(ctx, t.spanMeta(d, level, name, 4), fields, false)
}

// spanMeta builds a span's metadata, capturing the PC of the user's call when a layer
// wants span locations. skip counts frames as runtime.Callers does: 3 when called from
// the exported method itself (Callers, spanMeta, the method), 4 from one level below.
func (t *Tracer) spanMeta(d *Dispatch, level Level, name string, skip int) Metadata {
	m := Metadata{Name: name, Target: t.target, Level: level, Kind: KindSpan}
	if d.wantSpanPC {
		var pcs [1]uintptr
		runtime.Callers(skip, pcs[:])
		m.PC = pcs[0]
	}
	return m
}

// Trace logs a TRACE event in the span ctx carries.
func (t *Tracer) Trace(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floor.Load() <= int64(LevelTrace) {
		t.log(ctx, LevelTrace, msg, fields)
	}
}

// Debug logs a DEBUG event in the span ctx carries.
func (t *Tracer) Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floor.Load() <= int64(LevelDebug) {
		t.log(ctx, LevelDebug, msg, fields)
	}
}

// Info logs an INFO event in the span ctx carries.
func (t *Tracer) Info(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floor.Load() <= int64(LevelInfo) {
		t.log(ctx, LevelInfo, msg, fields)
	}
}

// Warn logs a WARN event in the span ctx carries.
func (t *Tracer) Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floor.Load() <= int64(LevelWarn) {
		t.log(ctx, LevelWarn, msg, fields)
	}
}

// Error logs an ERROR event in the span ctx carries. Storage keeps an "error" field of
// the event on the span, so the span counts as failed.
func (t *Tracer) Error(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floor.Load() <= int64(LevelError) {
		t.log(ctx, LevelError, msg, fields)
	}
}

// Log logs an event at any level in the span ctx carries.
func (t *Tracer) Log(ctx context.Context, level Level, msg string, fields ...slog.Attr) {
	if int64(level) >= t.floor.Load() {
		t.log(ctx, level, msg, fields)
	}
}

// log is the part of every event method after the dispatch's level floor: the target
// check, then the event. It must be called directly from the exported method the user
// called, for the PC to be the user's.
func (t *Tracer) log(ctx context.Context, level Level, msg string, fields []slog.Attr) {
	d := t.dispatch()
	if !t.cached(d, level) {
		return
	}
	m := Metadata{Name: msg, Target: t.target, Level: level, Kind: KindEvent}
	if d.wantEventPC {
		var pcs [1]uintptr
		runtime.Callers(3, pcs[:]) // Callers, log, the exported method
		m.PC = pcs[0]
	}
	d.event(ctx, m, fields)
}

// std is the tracer behind the package-level functions: target "", default dispatch.
var std = NewTracer("")

// Start starts an INFO span with the default dispatch and an empty target; see
// [Tracer.Start]. Prefer a package-level [Tracer] so target directives apply.
func Start(ctx context.Context, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if std.floor.Load() <= int64(LevelInfo) {
		ctx, span = std.start(ctx, LevelInfo, name, fields)
	}
	return ctx, span
}

// Info logs an INFO event with the default dispatch; see [Tracer.Info].
func Info(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floor.Load() <= int64(LevelInfo) {
		std.log(ctx, LevelInfo, msg, fields)
	}
}

// Warn logs a WARN event with the default dispatch; see [Tracer.Warn].
func Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floor.Load() <= int64(LevelWarn) {
		std.log(ctx, LevelWarn, msg, fields)
	}
}

// Error logs an ERROR event with the default dispatch; see [Tracer.Error].
func Error(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floor.Load() <= int64(LevelError) {
		std.log(ctx, LevelError, msg, fields)
	}
}

// Debug logs a DEBUG event with the default dispatch; see [Tracer.Debug].
func Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floor.Load() <= int64(LevelDebug) {
		std.log(ctx, LevelDebug, msg, fields)
	}
}
