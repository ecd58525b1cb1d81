package subscriber_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

func TestDoubleEndClosesOnce(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(c)
	_, s := d.Tracer("test").Start(context.Background(), "once")
	s.End()
	s.End()
	s.EndErr(errString("late"))
	if got := c.closes.Load(); got != 1 {
		t.Fatalf("closes = %d, want 1", got)
	}
	if got := c.records.Load(); got != 0 {
		t.Fatalf("a late EndErr recorded %d times, want 0", got)
	}
}

func TestConcurrentEndFromManyGoroutinesClosesOnce(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(c)
	tr := d.Tracer("test")
	const spans, enders = 200, 8
	for i := 0; i < spans; i++ {
		_, s := tr.Start(context.Background(), "raced")
		var wg sync.WaitGroup
		for g := 0; g < enders; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Record(slog.Int("g", g))
				s.End()
			}()
		}
		wg.Wait()
	}
	if got := c.closes.Load(); got != spans {
		t.Fatalf("closes = %d, want %d", got, spans)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Fatalf("live records = %d, want 0", n)
	}
}

func TestStaleSpanHandleNeverTouchesTheReusedRecord(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(c)
	tr := d.Tracer("test")
	_, stale := tr.Start(context.Background(), "old")
	staleID := stale.ID()
	stale.End()

	// The next spans reuse pooled records; the stale handle must see none of them.
	var live []subscriber.Span
	for i := 0; i < 64; i++ {
		_, s := tr.Start(context.Background(), "new", slog.Int("i", i))
		live = append(live, s)
	}
	stale.Record(slog.String("poison", "x"))
	stale.End()
	if stale.IsRecording() || stale.ID() != 0 {
		t.Fatalf("stale handle still reads a span: recording=%v id=%d (was %d)", stale.IsRecording(), stale.ID(), staleID)
	}
	for _, s := range live {
		if !s.IsRecording() {
			t.Fatal("a live span was closed through a stale handle")
		}
		s.End()
	}
	if got := c.records.Load(); got != 0 {
		t.Fatalf("stale Record reached layers %d times", got)
	}
	if got := c.closes.Load(); got != 65 {
		t.Fatalf("closes = %d, want 65", got)
	}
}
