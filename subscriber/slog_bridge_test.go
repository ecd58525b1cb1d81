package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
	"github.com/strata-go/strata/subscriber/expect"
)

type secret string

func (s secret) LogValue() slog.Value { return slog.StringValue("<redacted>") }

func TestSlogBridgePutsEventsInTheSpanOfTheirContext(t *testing.T) {
	m := expect.New(t).
		Event("before", expect.InSpan("")).
		Event("in outer", expect.InSpan("outer"), expect.AtLevel(subscriber.LevelInfo),
			expect.Field("svc", "songs"), expect.Field("req.id", "7"), expect.Field("req.user.name", "ada")).
		Event("in inner", expect.InSpan("inner"), expect.AtLevel(subscriber.LevelWarn),
			expect.Field("svc", "songs"), expect.Field("req.token", "<redacted>")).
		Event("outer again", expect.InSpan("outer")).
		Ignore(expect.KindNewSpan, expect.KindEnter, expect.KindExit, expect.KindClose).
		Only()
	d := subscriber.MustNew(m)
	tr := d.Tracer("test")
	log := slog.New(d.SlogHandler("test")).With("svc", "songs").WithGroup("req")

	log.InfoContext(context.Background(), "before")
	ctx, outer := tr.Start(context.Background(), "outer")
	log.InfoContext(ctx, "in outer", "id", 7, slog.Group("user", "name", "ada"))
	ictx, inner := tr.Start(ctx, "inner")
	log.WarnContext(ictx, "in inner", "token", secret("hunter2"))
	inner.End()
	log.InfoContext(ctx, "outer again")
	outer.End()

	m.AssertFinished()
}

func TestSlogBridgeHonoursTheDispatchLevel(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(subscriber.WithFilter(c, levelFilter(subscriber.LevelWarn)))
	h := d.SlogHandler("test")
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Fatal("INFO reported enabled under a WARN filter")
	}
	if !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("ERROR reported disabled under a WARN filter")
	}
	log := slog.New(h)
	log.Info("dropped")
	log.Error("kept")
	if got := c.events.Load(); got != 1 {
		t.Fatalf("events = %d, want 1", got)
	}
}
