package subscriber

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"

	"github.com/strata-go/strata/registry"
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
	floors *[2]atomic.Int64          // the level floors of *dp (see Dispatch.floors)
	// anyFloor is &floors[1], the lower one: Start's inlined check, which the inlining
	// budget allows one plain load and no field count.
	anyFloor *atomic.Int64
	cache    atomic.Pointer[interest]
}

type interest struct {
	d     *Dispatch
	epoch uint64
	min   Level // the most verbose level any layer may enable for the target
	field Level // the same for FieldWanters, for calls with fields
}

// NewTracer returns a tracer for target that uses the default dispatch.
func NewTracer(target string) *Tracer {
	return &Tracer{target: target, dp: &defaultDispatch, floors: &defaultFloors, anyFloor: &defaultFloors[1]}
}

// Tracer returns a tracer for target bound to d.
func (d *Dispatch) Tracer(target string) *Tracer {
	t := &Tracer{target: target, dp: new(atomic.Pointer[Dispatch]), floors: &d.floors, anyFloor: &d.floors[1]}
	t.dp.Store(d)
	return t
}

// Target returns the tracer's target.
func (t *Tracer) Target() string { return t.target }

func (t *Tracer) dispatch() *Dispatch { return t.dp.Load() }

// interestIn returns what the filters said about this tracer's target in d, cached per
// dispatch and interest epoch.
func (t *Tracer) interestIn(d *Dispatch) *interest {
	if c := t.cache.Load(); c != nil && c.d == d && c.epoch == interestEpoch.Load() {
		return c
	}
	epoch := interestEpoch.Load()
	c := &interest{d: d, epoch: epoch}
	c.min, c.field = d.targetLevels(t.target)
	t.cache.Store(c)
	return c
}

// wants is the slow path's first check, after the inlined floor: the target's cached
// levels, and for a call below the plain level, whether its fields carry a key some
// FieldWanter wants. It allocates nothing.
func (t *Tracer) wants(d *Dispatch, level Level, kind Kind, fields []slog.Attr) bool {
	c := t.interestIn(d)
	if level >= c.min {
		return true
	}
	if level < c.field || len(fields) == 0 {
		return false
	}
	if kind == KindEvent {
		return d.eventFields.matches(fields)
	}
	return d.spanFields.matches(fields)
}

// Enabled reports whether a span or event at level might be enabled for this tracer's
// target. Use it to skip building expensive fields. With a [FieldWanter] composed (the
// metrics layer), a call below every other layer's level may still be wanted for its
// fields, and Enabled says true for it.
func (t *Tracer) Enabled(level Level) bool {
	d := t.dispatch()
	if int64(level) < t.floors[1].Load() {
		return false
	}
	c := t.interestIn(d)
	return level >= min(c.min, c.field)
}

// Start starts an INFO span named name with fields, as a child of the span in ctx (or of
// the remote parent in ctx, or as a new trace). It returns a ctx that carries the new
// span; end the span with End or EndErr, usually deferred:
//
//	ctx, span := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
//	defer span.End()
//
// A disabled span is the zero Span and the returned ctx is ctx itself. A nil ctx is
// taken as context.Background().
func (t *Tracer) Start(ctx context.Context, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if t.anyFloor.Load() <= int64(LevelInfo) {
		ctx, span = t.start(ctx, LevelInfo, name, fields)
	}
	return ctx, span
}

// StartLevel is Start at the given level.
func (t *Tracer) StartLevel(ctx context.Context, level Level, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if t.anyFloor.Load() <= int64(level) {
		ctx, span = t.start(ctx, level, name, fields)
	}
	return ctx, span
}

// start is the part of Start after the level floor. It must be called directly from the
// exported method the user called, for the PC to be the user's.
func (t *Tracer) start(ctx context.Context, level Level, name string, fields []slog.Attr) (context.Context, Span) {
	if len(fields) == 0 && int64(level) < t.floors[0].Load() {
		return ctx, Span{} // Start's inlined check could not count the fields
	}
	d := t.dispatch()
	if !t.wants(d, level, KindSpan, fields) {
		return ctx, Span{}
	}
	return d.startSpan(ctx, Metadata{Name: name, Target: t.target, Level: level, Kind: KindSpan}, fields, false, 4)
}

// Trace logs a TRACE event in the span ctx carries.
func (t *Tracer) Trace(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelTrace) {
		t.log(ctx, LevelTrace, msg, fields)
	}
}

// Debug logs a DEBUG event in the span ctx carries.
func (t *Tracer) Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelDebug) {
		t.log(ctx, LevelDebug, msg, fields)
	}
}

// Info logs an INFO event in the span ctx carries.
func (t *Tracer) Info(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelInfo) {
		t.log(ctx, LevelInfo, msg, fields)
	}
}

// Warn logs a WARN event in the span ctx carries.
func (t *Tracer) Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelWarn) {
		t.log(ctx, LevelWarn, msg, fields)
	}
}

// Error logs an ERROR event in the span ctx carries. Storage keeps an "error" field of
// the event on the span, so the span counts as failed.
func (t *Tracer) Error(ctx context.Context, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelError) {
		t.log(ctx, LevelError, msg, fields)
	}
}

// Log logs an event at any level in the span ctx carries.
func (t *Tracer) Log(ctx context.Context, level Level, msg string, fields ...slog.Attr) {
	if t.floors[min(len(fields), 1)].Load() <= int64(level) {
		t.log(ctx, level, msg, fields)
	}
}

// log is the part of every event method after the dispatch's level floor: the target
// check, the layers' filters, then the event. It must be called directly from the
// exported method the user called, for the PC to be the user's.
func (t *Tracer) log(ctx context.Context, level Level, msg string, fields []slog.Attr) {
	d := t.dispatch()
	if !d.hasEvent || !t.wants(d, level, KindEvent, fields) {
		return
	}
	ev := d.getEvent(ctx, Metadata{Name: msg, Target: t.target, Level: level, Kind: KindEvent})
	ev.Attrs = appendAttrs(ev.Attrs[:0], fields)
	mask := d.eventMask(ev)
	if mask&d.eventLoc != 0 {
		// Only now: a location is paid for only by events a layer that prints it enabled.
		var pcs [1]uintptr
		runtime.Callers(3, pcs[:]) // Callers, log, the exported method
		ev.Meta.PC = pcs[0]
	}
	ev.Time = registry.Time(registry.Nanotime())
	d.deliverEvent(ev, mask)
}

// std is the tracer behind the package-level functions: target "", default dispatch.
var std = NewTracer("")

// Start starts an INFO span with the default dispatch and an empty target; see
// [Tracer.Start]. Prefer a package-level [Tracer] so target directives apply.
func Start(ctx context.Context, name string, fields ...slog.Attr) (_ context.Context, span Span) {
	if std.anyFloor.Load() <= int64(LevelInfo) {
		ctx, span = std.start(ctx, LevelInfo, name, fields)
	}
	return ctx, span
}

// Info logs an INFO event with the default dispatch; see [Tracer.Info].
func Info(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floors[min(len(fields), 1)].Load() <= int64(LevelInfo) {
		std.log(ctx, LevelInfo, msg, fields)
	}
}

// Warn logs a WARN event with the default dispatch; see [Tracer.Warn].
func Warn(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floors[min(len(fields), 1)].Load() <= int64(LevelWarn) {
		std.log(ctx, LevelWarn, msg, fields)
	}
}

// Error logs an ERROR event with the default dispatch; see [Tracer.Error].
func Error(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floors[min(len(fields), 1)].Load() <= int64(LevelError) {
		std.log(ctx, LevelError, msg, fields)
	}
}

// Debug logs a DEBUG event with the default dispatch; see [Tracer.Debug].
func Debug(ctx context.Context, msg string, fields ...slog.Attr) {
	if std.floors[min(len(fields), 1)].Load() <= int64(LevelDebug) {
		std.log(ctx, LevelDebug, msg, fields)
	}
}
