package jaeger

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// closedPort returns a 127.0.0.1 UDP address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

func TestAgentDownIsCountedAndNeverBlocks(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	jl, err := New(WithAgent(closedPort(t)), WithBatchSize(4), WithLogf(func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, f)
	}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("down")
	var flushErr error
	const rounds = 10
	for range rounds {
		for range 10 {
			_, s := tr.Start(context.Background(), "lost")
			s.End()
		}
		// Loopback answers the first datagram with ICMP port unreachable, and the
		// socket reports it as "connection refused" on the next write.
		if err := jl.Flush(context.Background()); err != nil {
			flushErr = err
		}
	}
	if flushErr == nil || !strings.Contains(flushErr.Error(), "refused") {
		t.Errorf("Flush error %v, want connection refused", flushErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := jl.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown after the last Flush: %v", err)
	}
	st := jl.Stats()
	if st.Failed == 0 || st.Sent+st.Failed+st.Dropped != rounds*10 || st.Retries != 0 {
		t.Errorf("stats %+v: want failures counted, every span accounted for, no retries", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 {
		t.Errorf("the failures were not logged")
	}
}
