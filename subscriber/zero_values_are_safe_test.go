package subscriber_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/subscriber"
)

// The zero SpanRef is what ev.Span is outside any span; every method answers with a
// zero value instead of panicking.
func TestZeroSpanRefMethodsReturnZeroValues(t *testing.T) {
	var s subscriber.SpanRef
	if m := s.Metadata(); m == nil || m.Name != "" {
		t.Errorf("Metadata() = %v, want empty metadata", m)
	}
	if !s.Start().IsZero() || !s.End().IsZero() {
		t.Errorf("Start, End = %v, %v; want zero times", s.Start(), s.End())
	}
	if s.Duration() != 0 || s.Err() != nil || s.Failed() || s.Closed() {
		t.Errorf("Duration, Err, Failed, Closed = %v, %v, %v, %v; want zero values", s.Duration(), s.Err(), s.Failed(), s.Closed())
	}
	if s.ParentID() != 0 || s.ParentEnded() || !s.Parent().IsZero() || s.Remote() != nil {
		t.Error("the zero SpanRef has a parent")
	}
	if _, ok := s.Field("k"); ok || len(s.Fields(nil)) != 0 {
		t.Error("the zero SpanRef has fields")
	}
}

// A layer may read ev.Span's metadata and times for events outside spans.
func TestEventOutsideSpansCarriesAUsableZeroSpan(t *testing.T) {
	var got string
	d := subscriber.MustNew(&eventAndClose{
		onEvent: func(ev *subscriber.Event) {
			got = ev.Span.Metadata().Name + ev.Span.Start().String() + ev.Span.Duration().String()
		},
		onClose: func() {},
	})
	d.Tracer("test").Info(context.Background(), "outside")
	if got != (time.Time{}).String()+"0s" {
		t.Fatalf("ev.Span read as %q", got)
	}
}

// A nil ctx is taken as context.Background(), as slog does: the returned ctx works.
func TestNilContextIsTakenAsBackground(t *testing.T) {
	d := subscriber.MustNew(&counter{})
	tr := d.Tracer("test")
	//lint:ignore SA1012 the point of the test
	ctx, span := tr.Start(nil, "s") //nolint:staticcheck
	if ctx == nil || ctx.Done() != nil || ctx.Err() != nil {
		t.Fatalf("Start(nil) returned a ctx that is nil or not Background-like: %v", ctx)
	}
	_ = ctx.Value("any key")
	tr.Info(nil, "event with a nil ctx") //nolint:staticcheck
	span.End()
	err := tr.Do(nil, "do", func(ctx context.Context) error { //nolint:staticcheck
		_ = ctx.Err()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Go(nil, "go", func(ctx context.Context) error { return ctx.Err() }).Wait(); err != nil { //nolint:staticcheck
		t.Fatal(err)
	}
	if d.Registry().Live() != 0 {
		t.Fatalf("Live() = %d", d.Registry().Live())
	}
}

type nilPtrErr struct{}

func (*nilPtrErr) Error() string { return "never" }

// A typed nil error (an error interface holding a nil pointer) is no error: EndErr with it
// is a plain End.
func TestEndErrWithATypedNilIsAPlainEnd(t *testing.T) {
	var failed, hasErr bool
	d := subscriber.MustNew(&closeProbe{fn: func(s subscriber.SpanRef) {
		failed = s.Failed()
		_, hasErr = s.Field("error")
	}})
	_, span := d.Tracer("test").Start(context.Background(), "s")
	var p *nilPtrErr
	span.EndErr(p)
	if failed || hasErr {
		t.Fatalf("EndErr(typed nil): Failed=%v, error field=%v; want a plain End", failed, hasErr)
	}
}

// A key given twice at Start is one field with the last value, as if recorded twice; a
// later Record updates it.
func TestDuplicateStartKeysAreOneField(t *testing.T) {
	var got []slog.Attr
	d := subscriber.MustNew(&closeProbe{fn: func(s subscriber.SpanRef) { got = s.Fields(nil) }})
	_, span := d.Tracer("test").Start(context.Background(), "s",
		slog.String("k", "first"), slog.Int("n", 1), slog.String("k", "second"))
	span.Record(slog.String("k", "recorded"))
	span.End()
	if len(got) != 2 || got[0].Key != "k" || got[0].Value.String() != "recorded" || got[1].Key != "n" {
		t.Fatalf("fields = %v, want [k=recorded n=1]", got)
	}
}
