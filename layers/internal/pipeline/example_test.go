package pipeline_test

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

// printer is a Sender that prints each batch. A real one writes to a network peer and
// wraps "could not connect" errors with pipeline.Retry.
type printer struct{}

func (printer) Send(_ context.Context, batch []string) error {
	fmt.Println("batch:", batch)
	return nil
}

func Example() {
	p := pipeline.New[string](pipeline.Config{Name: "example spans", BatchSize: 2, FlushInterval: time.Hour}, printer{})
	for _, s := range []string{"a", "b", "c"} {
		p.Enqueue(s) // never blocks
	}
	// Shutdown sends what is queued (the lingering "c" too) and stops the goroutine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	s := p.Stats()
	fmt.Printf("enqueued %d, sent %d, dropped %d, failed %d\n", s.Enqueued, s.Sent, s.Dropped, s.Failed)
	// Output:
	// batch: [a b]
	// batch: [c]
	// enqueued 3, sent 3, dropped 0, failed 0
}
