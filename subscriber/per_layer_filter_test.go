package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
	"github.com/strata-go/strata/subscriber/expect"
)

func TestLayerWhoseFilterRejectsASpanSeesNoneOfItsHooks(t *testing.T) {
	noSecrets := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool {
		return m.Name != "secret"
	})
	filtered := expect.New(t).
		NewSpan("public").Enter("public").
		Event("in public", expect.InSpan("public")).
		// The event inside "secret" is not rejected by the filter (its name differs), and
		// its span for this layer is the one it happened in.
		Event("in secret", expect.InSpan("secret")).
		Exit("public").Close("public").
		Only()
	all := expect.New(t).
		NewSpan("public").Enter("public").
		Event("in public", expect.InSpan("public")).
		NewSpan("secret", expect.InSpan("public")).Enter("secret").
		Record("secret", expect.Field("k", "v")).
		Event("in secret", expect.InSpan("secret")).
		Exit("secret").Close("secret").
		Exit("public").Close("public").
		Only()
	d := subscriber.MustNew(subscriber.WithFilter(filtered, noSecrets), all)
	tr := d.Tracer("test")

	ctx, pub := tr.Start(context.Background(), "public")
	tr.Info(ctx, "in public")
	sctx, sec := tr.Start(ctx, "secret")
	sec.Record(slog.String("k", "v"))
	tr.Info(sctx, "in secret")
	sec.End()
	pub.End()

	filtered.AssertFinished()
	all.AssertFinished()
}

func TestSpanRejectedByEveryLayerIsInvisibleToItsChildren(t *testing.T) {
	m := expect.New(t).
		NewSpan("outer").
		NewSpan("inner", expect.InSpan("outer")).
		Close("inner").Close("outer").
		Ignore(expect.KindEnter, expect.KindExit).Only()
	d := subscriber.MustNew(subscriber.WithFilter(m, levelFilter(subscriber.LevelInfo)))
	tr := d.Tracer("test")
	ctx, outer := tr.Start(context.Background(), "outer")
	dctx, dbg := tr.StartLevel(ctx, subscriber.LevelDebug, "debug-only")
	if dbg.IsRecording() || dctx != ctx {
		t.Fatal("a span no layer enables must be the zero Span and leave ctx unchanged")
	}
	_, inner := tr.Start(dctx, "inner")
	inner.End()
	dbg.End()
	outer.End()
	m.AssertFinished()
}
