package subscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
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
	if !t.on(d, LevelInfo) {
		return fn(ctx)
	}
	ctx, span := d.startSpan(ctx, t.spanMeta(d, LevelInfo, name, 3), fields, false)
	ended := false
	defer func() {
		if ended {
			return
		}
		p := recover()
		if p == nil { // runtime.Goexit (t.FailNow, for instance): let it go on
			span.EndErr(errors.New("goroutine exited inside the span"))
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

// Task is work started by [Tracer.Go]. Its owner waits for it.
type Task struct {
	done chan struct{}
	err  error
}

// Wait blocks until the task's function returned, and returns its error.
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
// A panic in fn does not crash the process: it is recovered, ends the span as failed,
// and becomes the Task's error, with the panic value and the goroutine's stack.
func (t *Tracer) Go(ctx context.Context, name string, fn func(context.Context) error, fields ...slog.Attr) *Task {
	task := &Task{done: make(chan struct{})}
	d := t.dispatch()
	var span Span
	if t.on(d, LevelInfo) {
		ctx, span = d.startSpan(ctx, t.spanMeta(d, LevelInfo, name, 3), fields, true)
	} else {
		ctx = context.WithoutCancel(ctx)
	}
	go func() {
		defer close(task.done)
		defer func() {
			if p := recover(); p != nil {
				task.err = fmt.Errorf("subscriber: task %q panicked: %v\n%s", name, p, debug.Stack())
				span.EndErr(task.err)
			}
		}()
		task.err = fn(ctx)
		span.EndErr(task.err)
	}()
	return task
}
