package otlp

import (
	"context"
	"sync"
	"testing"
	"time"
)

// With a collector that does not answer, spans beyond the queue are dropped and counted,
// and End returns: nothing waits for the network. Once the collector answers, what was
// queued goes out, and every span is accounted for.
func TestAFloodBeyondTheQueueIsCountedAndNeverBlocksEnd(t *testing.T) {
	col := startCollector(t)
	col.blockCalls()
	const queue, total = 8, 2000
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure(), WithQueueSize(queue), WithBatchSize(2), WithTimeout(time.Minute))
	tr := compose(t, l).Tracer("songs")

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range total / 4 {
				_, span := tr.Start(context.Background(), "flood")
				span.End()
			}
		})
	}
	wg.Wait() // every End returned while the collector held the first request

	st := l.Stats()
	if st.Spans != total || st.Dropped < total-queue || st.Queued > queue {
		t.Fatalf("stats %+v, want %d spans, at least %d dropped, at most %d queued", st, total, total-queue, queue)
	}
	if st.Spans != st.Sent+st.Dropped+st.Failed+uint64(st.Queued) {
		t.Fatalf("stats %+v do not add up", st)
	}

	col.unblock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	st = l.Stats()
	if st.Sent+st.Dropped != total || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want sent + dropped = %d", st, total)
	}
	if got := uint64(len(col.spans())); got != st.Sent {
		t.Errorf("the collector got %d spans, Sent says %d", got, st.Sent)
	}
}
