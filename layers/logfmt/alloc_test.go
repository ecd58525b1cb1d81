package logfmt_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The layer's own work for an event allocates nothing in steady state: buffers are
// pooled and the span's stored fields are encoded once. The layer is called directly so
// that the core's costs (the ctx, the variadic fields) are not counted.
func TestEventLineToDiscardDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	l := logfmt.New(io.Discard)
	var ev *subscriber.Event
	capture := eventHook(func(e *subscriber.Event) {
		if ev == nil {
			ev = e
			if e.Meta.PC == 0 {
				t.Error("no PC captured: the location path is not measured")
			}
			allocs := testing.AllocsPerRun(100, func() { l.OnEvent(e) })
			if allocs != 0 {
				t.Errorf("OnEvent allocates %.1f times per event, want 0", allocs)
			}
		}
	})
	d := mustNew(t, storage.New(), capture)
	tr := d.Tracer("bench")
	ctx, s := tr.Start(context.Background(), "request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"), slog.Int("user", 42),
		slog.String("subject", "vendor.lastfm"), slog.Bool("cached", false))
	tr.Info(ctx, "finished processing vendor request",
		slog.Int("vendor.status", 200), slog.String("vendor", "lastfm"), slog.Float64("ratio", 0.5),
		slog.Duration("took", 1500000), slog.String("note", "needs \"quotes\""))
	s.End()
	if ev == nil {
		t.Fatal("no event seen")
	}
}

type eventHook func(ev *subscriber.Event)

func (f eventHook) OnEvent(ev *subscriber.Event) { f(ev) }

// WantsLocation makes the core capture PCs, so the location path is measured too.
func (eventHook) WantsLocation() bool { return true }
