package jaeger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestBatchesSplitIntoDatagramsUnderThePacketSize(t *testing.T) {
	ag := startAgent(t)
	const packet = 2000
	jl, err := New(WithAgent(ag.Addr()), WithService("split"), WithMaxPacketSize(packet), WithBatchSize(500), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("split")
	const n = 300
	pad := strings.Repeat("x", 100)
	for i := range n {
		_, s := tr.Start(context.Background(), fmt.Sprintf("span-%d", i), slog.String("pad", pad), slog.Int("i", i))
		s.End()
	}
	if err := jl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := ag.WaitSpans(t, n)
	dgs := ag.Datagrams()
	if len(dgs) < 2 {
		t.Fatalf("%d spans of ~150 bytes came in %d datagrams of at most %d bytes", n, len(dgs), packet)
	}
	seen := map[string]bool{}
	for _, s := range spans {
		seen[s.OperationName] = true
	}
	for i := range n {
		if !seen[fmt.Sprintf("span-%d", i)] {
			t.Errorf("span-%d is missing", i)
		}
	}
	full := 0
	for _, dg := range dgs {
		if dg.Err != nil {
			t.Fatalf("a datagram did not decode: %v", dg.Err)
		}
		if dg.Size > packet {
			t.Errorf("a datagram of %d bytes, over %d", dg.Size, packet)
		}
		if dg.Size > packet*3/4 {
			full++
		}
		if dg.Batch.SeqNo == nil || dg.Batch.Stats == nil {
			t.Errorf("a batch without seqNo or client stats")
		}
	}
	// Packing is greedy: all but the last datagram of a send are nearly full.
	if full < len(dgs)-2 {
		t.Errorf("only %d of %d datagrams are more than 3/4 full", full, len(dgs))
	}
	st := jl.Stats()
	if st.Sent != n || st.Datagrams != uint64(len(dgs)) || st.Truncated != 0 {
		t.Errorf("stats %+v, want %d sent in %d datagrams", st, n, len(dgs))
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
}
