package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

func TestDisabledSpansAndEventsAllocateNothing(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(subscriber.WithFilter(c, levelFilter(subscriber.LevelWarn)))
	tr := d.Tracer("test")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		sctx, s := tr.Start(ctx, "disabled", slog.String("k", "v"), slog.Int("n", 1))
		tr.Info(sctx, "disabled", slog.String("k", "v"))
		tr.Debug(sctx, "disabled")
		s.Record(slog.Int("n", 2))
		s.End()
	})
	if allocs != 0 {
		t.Fatalf("disabled span+events allocate %.1f times, want 0", allocs)
	}
	if c.newSpans.Load()+c.events.Load() != 0 {
		t.Fatal("a disabled span or event reached the layer")
	}
}

func TestEnabledSpanAllocatesOnlyItsContext(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	d := subscriber.MustNew(&counter{})
	tr := d.Tracer("test")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		sctx, s := tr.Start(ctx, "span", slog.String("k", "v"), slog.Int("n", 1))
		tr.Info(sctx, "event", slog.String("k", "v"))
		s.End()
	})
	if allocs > 1 {
		t.Fatalf("span start+event+end allocates %.1f times, want at most 1 (the context)", allocs)
	}
}
