package subscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Do runs fn inside a new INFO span and ends the span with fn's error: Go's answer to
// tracing's #[instrument(err)]. If fn panics, the span ends with the panic as its error
// and the panic goes on.
//
//	err := tr.Do(ctx, "db.insert", func(ctx context.Context) error {
//		return db.Insert(ctx, row)
//	}, slog.String("db.system", "postgresql"))
func (t *Tracer) Do(ctx context.Context, name string, fn func(context.Context) error, fields ...slog.Attr) (err error) {
	d := t.dispatch()
	if t.floors[min(len(fields), 1)].Load() > int64(LevelInfo) || !t.wants(d, LevelInfo, KindSpan, fields) {
		return fn(ctx)
	}
	ctx, span := d.startSpan(ctx, Metadata{Name: name, Target: t.target, Level: LevelInfo, Kind: KindSpan}, fields, false, 3)
	ended := false
	defer func() {
		if ended {
			return
		}
		p := recover()
		if p == nil { // runtime.Goexit (t.FailNow, for instance): let it go on
			span.EndErr(errGoexit)
			return
		}
		span.EndErr(fmt.Errorf("panic: %v", p))
		panic(p)
	}()
	err = fn(ctx)
	ended = true
	span.EndErr(err)
	return err
}

// errGoexit is the error a span ends with when its function called runtime.Goexit.
var errGoexit = errors.New("goroutine exited inside the span (runtime.Goexit, as t.FailNow calls)")

// ErrTaskExited is the error [Task.Wait] returns when the task's function called
// runtime.Goexit (as t.FailNow and t.SkipNow do) instead of returning.
var ErrTaskExited = errors.New("subscriber: the task's goroutine exited (runtime.Goexit) before its function returned")

// Task is work started by [Tracer.Go]. Its owner waits for it.
type Task struct {
	done chan struct{}
	err  error
}

// Wait blocks until the task's function returned, and returns its error; or
// [ErrTaskExited] if the function called runtime.Goexit.
func (t *Task) Wait() error {
	<-t.done
	return t.err
}

// Done is closed when the task's function returned.
func (t *Task) Done() <-chan struct{} { return t.done }

// Go runs fn on a new goroutine inside a new span that follows from the span in ctx
// rather than being its child: the article's asynchronous processing, where the request
// may finish long before the work. The new span keeps the caller's trace id, has no
// in-process parent, and its ctx is not cancelled when the caller's is (only values are
// kept). The span ends with fn's error; the caller owns the goroutine through the Task.
//
// A panic in fn is recorded on the span (which ends as failed) and then goes on, as it
// would in a plain goroutine: it crashes the program, with fn's frames in the stack
// trace. Go does not turn it into Wait's error, because that hides mistakes (errgroup
// tried it and reverted). If fn calls runtime.Goexit, the span ends as failed and Wait
// returns [ErrTaskExited].
func (t *Tracer) Go(ctx context.Context, name string, fn func(context.Context) error, fields ...slog.Attr) *Task {
	task := &Task{done: make(chan struct{})}
	if ctx == nil {
		ctx = context.Background()
	}
	d := t.dispatch()
	var span Span
	if t.floors[min(len(fields), 1)].Load() <= int64(LevelInfo) && t.wants(d, LevelInfo, KindSpan, fields) {
		ctx, span = d.startSpan(ctx, Metadata{Name: name, Target: t.target, Level: LevelInfo, Kind: KindSpan}, fields, true, 3)
	} else {
		ctx = context.WithoutCancel(ctx)
	}
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			p := recover()
			if p == nil { // runtime.Goexit: nothing to re-raise
				task.err = ErrTaskExited
				span.EndErr(errGoexit)
				close(task.done)
				return
			}
			// The deferred call runs on top of the panicking frames, so the crash's
			// stack trace still shows where fn panicked. done stays open: the program
			// is going down, and Wait must not report on a task that never finished.
			span.EndErr(fmt.Errorf("panic: %v", p))
			panic(p)
		}()
		err := fn(ctx)
		returned = true
		task.err = err
		span.EndErr(err)
		close(task.done)
	}()
	return task
}
