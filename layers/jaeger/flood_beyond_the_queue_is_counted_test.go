package jaeger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestFloodBeyondTheQueueIsCountedAndNeverBlocks(t *testing.T) {
	ag := startAgent(t)
	jl, err := New(WithAgent(ag.Addr()), WithQueueSize(16), WithBatchSize(8), WithFlushInterval(time.Hour), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("flood")
	const n = 5000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			_, s := tr.Start(context.Background(), "work")
			s.End()
		}
	}()
	// A hang detector, not a timing assertion: End never waits for the network.
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("ending spans blocked")
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
	st := jl.Stats()
	if st.Spans != n || st.Dropped == 0 || st.Sent+st.Dropped+st.Failed != n || st.Queued != 0 {
		t.Fatalf("stats %+v: want %d spans, some dropped, every one accounted for", st, n)
	}
	got := ag.WaitSpans(t, int(st.Sent))
	for _, dg := range ag.Datagrams() {
		if dg.Err != nil {
			t.Fatalf("a datagram did not decode: %v", dg.Err)
		}
	}
	if uint64(len(got)) != st.Sent {
		t.Errorf("the agent got %d spans, stats say %d sent", len(got), st.Sent)
	}
	g := jl.Gauges()
	for name, want := range map[string]uint64{
		"strata_jaeger_spans_total":         st.Spans,
		"strata_jaeger_spans_sent_total":    st.Sent,
		"strata_jaeger_spans_dropped_total": st.Dropped,
		"strata_jaeger_datagrams_total":     st.Datagrams,
	} {
		f, ok := g[name]
		if !ok {
			t.Errorf("no gauge %s", name)
			continue
		}
		if got := f(); got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	for name := range g {
		if !strings.HasPrefix(name, "strata_jaeger_") {
			t.Errorf("gauge %s lacks the strata_jaeger_ prefix", name)
		}
	}
}
