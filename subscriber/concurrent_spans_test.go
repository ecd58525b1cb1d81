package subscriber_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

func TestThousandsOfConcurrentSpansLeakNoRecords(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(c)
	tr := d.Tracer("test")
	const goroutines, perG, depth = 16, 100, 4
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				ctx := context.Background()
				var spans []subscriber.Span
				for k := 0; k < depth; k++ {
					var s subscriber.Span
					ctx, s = tr.Start(ctx, "level", slog.Int("k", k))
					spans = append(spans, s)
					tr.Info(ctx, "inside", slog.Int("i", i))
				}
				// End in a scrambled order: parents before children half the time.
				if i%2 == 0 {
					for _, s := range spans {
						s.End()
					}
				} else {
					for k := len(spans) - 1; k >= 0; k-- {
						spans[k].End()
					}
				}
			}
		}()
	}
	wg.Wait()
	want := int64(goroutines * perG * depth)
	if c.newSpans.Load() != want || c.closes.Load() != want || c.events.Load() != want {
		t.Fatalf("new=%d close=%d events=%d, want %d each", c.newSpans.Load(), c.closes.Load(), c.events.Load(), want)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Fatalf("live records = %d after every span ended, want 0", n)
	}
}
