package logfmt_test

import (
	"context"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/subscriber"
)

func TestLevelRouterSendsLinesAtOrAboveItsLevelAlsoToTheSecondWriter(t *testing.T) {
	all, errs := &syncBuffer{}, &syncBuffer{}
	d := mustNew(t, logfmt.New(logfmt.NewLevelRouter(all, subscriber.LevelError, errs), logfmt.WithSpanEvents(logfmt.SpanNone)))
	tr := d.Tracer("t")
	ctx := context.Background()
	tr.Info(ctx, "info")
	tr.Warn(ctx, "warn")
	tr.Error(ctx, "error")
	var got []string
	for _, l := range decode(t, all.Bytes()) {
		got = append(got, l.must(t, "msg"))
	}
	if len(got) != 3 {
		t.Errorf("primary got %v, want every line", got)
	}
	e := decode(t, errs.Bytes())
	if len(e) != 1 || e[0].must(t, "msg") != "error" {
		t.Errorf("second writer got %v, want only the ERROR line", e)
	}
}

func TestNestedLevelRoutersRouteEachLevel(t *testing.T) {
	all, warns, errs := &syncBuffer{}, &syncBuffer{}, &syncBuffer{}
	w := logfmt.NewLevelRouter(logfmt.NewLevelRouter(all, subscriber.LevelError, errs), subscriber.LevelWarn, warns)
	d := mustNew(t, logfmt.New(w))
	tr := d.Tracer("t")
	tr.Info(context.Background(), "info")
	tr.Warn(context.Background(), "warn")
	tr.Error(context.Background(), "error")
	if n := len(decode(t, all.Bytes())); n != 3 {
		t.Errorf("primary got %d lines, want 3", n)
	}
	if n := len(decode(t, warns.Bytes())); n != 2 {
		t.Errorf("warn writer got %d lines, want 2 (WARN and ERROR)", n)
	}
	if n := len(decode(t, errs.Bytes())); n != 1 {
		t.Errorf("error writer got %d lines, want 1", n)
	}
}

func TestLevelRouterCloseClosesItsAsyncWriters(t *testing.T) {
	primary := logfmt.NewAsyncWriter(&syncBuffer{})
	also := logfmt.NewAsyncWriter(&syncBuffer{})
	d := subscriber.MustNew(logfmt.New(logfmt.NewLevelRouter(primary, subscriber.LevelError, also)))
	d.Tracer("t").Error(context.Background(), "boom")
	if err := d.Shutdown(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*logfmt.AsyncWriter{primary, also} {
		select {
		case <-a.Done():
		default:
			t.Error("an async writer behind the router still runs after Shutdown")
		}
		if a.Written() != 1 {
			t.Errorf("Written = %d, want 1", a.Written())
		}
	}
}
