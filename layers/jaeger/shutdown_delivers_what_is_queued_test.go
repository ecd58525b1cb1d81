package jaeger

import (
	"context"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestShutdownDeliversWhatIsQueued(t *testing.T) {
	ag := startAgent(t)
	jl, err := New(WithAgent(ag.Addr()), WithFlushInterval(time.Hour), WithBatchSize(1000), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("queued")
	const n = 50
	for range n {
		_, s := tr.Start(context.Background(), "queued")
		s.End()
	}
	if q := jl.Stats().Queued; q != n {
		t.Fatalf("%d queued before Shutdown, want %d (the flush interval is an hour)", q, n)
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
	if got := len(ag.WaitSpans(t, n)); got != n {
		t.Errorf("the agent got %d spans, want %d", got, n)
	}
	// After Shutdown: spans are dropped and counted, and a second Shutdown is harmless.
	_, s := tr.Start(context.Background(), "late")
	s.End()
	if err := shutdown(t, jl); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	st := jl.Stats()
	if st.Sent != n || st.Dropped != 1 || st.Spans != n+1 {
		t.Errorf("stats %+v, want %d sent and the late one dropped", st, n)
	}
}
