package jaeger

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// failingConn fails the writes whose numbers (from 1) are in fail.
type failingConn struct {
	net.Conn
	mu   sync.Mutex
	n    int
	fail map[int]bool
}

func (c *failingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.n++
	fail := c.fail[c.n]
	c.mu.Unlock()
	if fail {
		return 0, errors.New("write refused")
	}
	return c.Conn.Write(b)
}

func TestAFailedDatagramLosesOnlyItsSpans(t *testing.T) {
	ag := startAgent(t)
	jl, err := New(WithAgent(ag.Addr()), WithMaxPacketSize(1024), WithBatchSize(1000), WithLogf(quiet))
	if err != nil {
		t.Fatal(err)
	}
	// Set before any span is queued: the pipeline's goroutine reads it after taking
	// the first batch from the queue.
	jl.conn = &failingConn{Conn: jl.conn, fail: map[int]bool{2: true}}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("partial")
	const n = 40
	for range n {
		_, s := tr.Start(context.Background(), "span", slog.String("pad", strings.Repeat("p", 150)))
		s.End()
	}
	err = jl.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "write refused") {
		t.Errorf("Flush: %v, want the write error", err)
	}
	st := jl.Stats()
	if st.Datagrams < 2 {
		t.Fatalf("stats %+v: want several datagrams written", st)
	}
	got := len(ag.WaitSpans(t, int(st.Sent)))
	if uint64(got) != st.Sent || st.Failed == 0 || st.Sent+st.Failed != n {
		t.Errorf("stats %+v, the agent got %d: want Sent to be what arrived and Failed the rest", st, got)
	}
	if err := shutdown(t, jl); err != nil {
		t.Fatal(err)
	}
}
