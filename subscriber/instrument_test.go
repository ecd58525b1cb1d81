package subscriber_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-go/strata/subscriber"
	"github.com/strata-go/strata/subscriber/expect"
)

func TestDoEndsTheSpanWithTheReturnedError(t *testing.T) {
	m := expect.New(t).
		NewSpan("ok").Close("ok", expect.Failed(false)).
		NewSpan("fails").Record("fails", expect.Field("error", "disk full")).Close("fails", expect.Failed(true)).
		Ignore(expect.KindEnter, expect.KindExit).Only()
	d := subscriber.MustNew(m)
	tr := d.Tracer("test")
	if err := tr.Do(context.Background(), "ok", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := errors.New("disk full")
	if err := tr.Do(context.Background(), "fails", func(context.Context) error { return want }); err != want {
		t.Fatalf("Do returned %v, want %v", err, want)
	}
	m.AssertFinished()
}

func TestDoEndsTheSpanWhenTheFunctionPanicsAndRepanics(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(c)
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = d.Tracer("test").Do(context.Background(), "boom", func(context.Context) error { panic("kaput") })
	}()
	if recovered != "kaput" {
		t.Fatalf("recovered %v, want the original panic value", recovered)
	}
	if c.closes.Load() != 1 || d.Registry().Live() != 0 {
		t.Fatalf("closes=%d live=%d, want 1 and 0", c.closes.Load(), d.Registry().Live())
	}
}

func TestGoRunsWorkInASpanThatFollowsFromTheCaller(t *testing.T) {
	m := expect.New(t).
		NewSpan("request", expect.InSpan("")).
		NewSpan("async", expect.InSpan("")). // no in-process parent
		FollowsFrom("async", "request").
		Ignore(expect.KindEnter, expect.KindExit, expect.KindClose)
	d := subscriber.MustNew(m)
	tr := d.Tracer("test")
	ctx, cancel := context.WithCancel(context.Background())
	ctx, req := tr.Start(ctx, "request")
	release := make(chan struct{})
	var workerTrace, reqTrace string
	var workerErr error
	task := tr.Go(ctx, "async", func(ctx context.Context) error {
		<-release
		workerTrace = subscriber.TraceID(ctx).String()
		workerErr = ctx.Err()
		return nil
	})
	reqTrace = subscriber.TraceID(ctx).String()
	req.End()
	cancel() // the request is over; the async work must not be cancelled with it
	close(release)
	select {
	case <-task.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("task did not finish")
	}
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	if workerTrace != reqTrace || workerTrace == "" {
		t.Fatalf("worker trace %q, request trace %q: want the same", workerTrace, reqTrace)
	}
	if workerErr != nil {
		t.Fatalf("worker ctx was cancelled with the request: %v", workerErr)
	}
	m.AssertFinished()
	if d.Registry().Live() != 0 {
		t.Fatalf("live = %d", d.Registry().Live())
	}
}

func TestGoDetachesTheContextEvenWhenAFilterRejectsTheSpan(t *testing.T) {
	rejectAsync := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool {
		return m.Name != "async"
	})
	d := subscriber.MustNew(subscriber.WithFilter(&counter{}, rejectAsync))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var workerErr error
	err := d.Tracer("test").Go(ctx, "async", func(ctx context.Context) error {
		workerErr = ctx.Err()
		return nil
	}).Wait()
	if err != nil || workerErr != nil {
		t.Fatalf("task err=%v, worker ctx err=%v: the work must not inherit the caller's cancellation", err, workerErr)
	}
}
