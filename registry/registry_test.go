package registry_test

import (
	"sync"
	"testing"

	"github.com/strata-go/strata/registry"
)

type payload struct {
	owner  registry.SpanID
	resets int
}

var payloadSlot = registry.NewSlot(func(p *payload) { p.owner = 0; p.resets++ })

func TestStaleHandleCannotAcquireOrCloseAReusedRecord(t *testing.T) {
	reg := registry.New()
	r := reg.NewSpan(nil, registry.TraceID{})
	stale := r.Handle()
	if _, ok := stale.Close(); !ok {
		t.Fatal("first Close failed")
	}
	r.Release() // last reference: the record goes back to the pool with a new generation
	// Reuse until we get the same record back (sync.Pool usually hands it back at once).
	var reused *registry.Record
	for i := 0; i < 1000 && reused == nil; i++ {
		n := reg.NewSpan(nil, registry.TraceID{})
		if n == r {
			reused = n
			break
		}
		n.Release()
	}
	if reused == nil {
		t.Skip("the pool never handed the record back")
	}
	if got := stale.Acquire(); got != nil {
		t.Fatal("a stale handle acquired the reused record")
	}
	if _, ok := stale.Close(); ok {
		t.Fatal("a stale handle closed the reused record")
	}
	if reused.Closed() {
		t.Fatal("the reused record reads closed")
	}
	reused.Release()
}

func TestChildKeepsParentAliveUntilReleased(t *testing.T) {
	reg := registry.New()
	parent := reg.NewSpan(nil, registry.TraceID{})
	parent.Retain() // the reference the child takes over
	child := reg.NewSpan(parent, registry.TraceID{})
	if child.TraceID() != parent.TraceID() {
		t.Fatal("child did not inherit the trace id")
	}
	ph := parent.Handle()
	parent.Release() // the parent's own reference: parent "ends"
	if got := ph.Acquire(); got != parent {
		t.Fatal("parent was recycled while a child still referenced it")
	} else {
		got.Release()
	}
	if reg.Live() != 2 {
		t.Fatalf("live = %d, want 2", reg.Live())
	}
	child.Release()
	if reg.Live() != 0 {
		t.Fatalf("live = %d after the child went, want 0", reg.Live())
	}
	if ph.Acquire() != nil {
		t.Fatal("parent handle still acquires after everything was released")
	}
}

func TestSlotValuesAreResetWhenTheRecordIsReleased(t *testing.T) {
	reg := registry.New()
	r := reg.NewSpan(nil, registry.TraceID{})
	p := payloadSlot.Get(r)
	if p == nil {
		t.Fatal("slot registered before the record has no value")
	}
	p.owner = r.ID()
	before := p.resets
	r.Release()
	if p.owner != 0 || p.resets != before+1 {
		t.Fatalf("after release: owner=%d resets=%d, want 0 and %d", p.owner, p.resets, before+1)
	}
}

func TestLiveCountsEveryUnreleasedRecordUnderConcurrency(t *testing.T) {
	reg := registry.New()
	var wg sync.WaitGroup
	recs := make(chan *registry.Record, 4000)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				recs <- reg.NewSpan(nil, registry.TraceID{})
			}
		}()
	}
	wg.Wait()
	close(recs)
	if reg.Live() != 4000 {
		t.Fatalf("live = %d, want 4000", reg.Live())
	}
	ids := map[registry.SpanID]bool{}
	for r := range recs {
		if r.ID() == 0 || ids[r.ID()] {
			t.Fatalf("span id %d is zero or repeated", r.ID())
		}
		ids[r.ID()] = true
		r.Release()
	}
	if reg.Live() != 0 {
		t.Fatalf("live = %d, want 0", reg.Live())
	}
}

func TestTraceIDTextRoundTrips(t *testing.T) {
	for _, s := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736",
		"00000000000000000000000000000001",
		"2a5e0c1f8f6c4c2d9c1d6e3f.61.16347101234560001",
		"4BF92F3577B34DA6A3CE929D0E0E4736",
		"short",
	} {
		id := registry.ParseTraceID(s)
		if id.String() != s {
			t.Errorf("ParseTraceID(%q).String() = %q", s, id.String())
		}
		wantRaw := !(len(s) == 32 && s == toLower(s) && s != "4BF92F3577B34DA6A3CE929D0E0E4736")
		if id.IsRaw() != wantRaw {
			t.Errorf("ParseTraceID(%q).IsRaw() = %v, want %v", s, id.IsRaw(), wantRaw)
		}
	}
	n := registry.NewTraceID()
	if b, ok := n.Bytes(); !ok || registry.TraceIDFromBytes(b) != n || len(n.String()) != 32 {
		t.Fatalf("new trace id %q does not round-trip through its bytes", n)
	}
	if !registry.ParseTraceID("").IsZero() {
		t.Fatal("empty string is not the zero trace id")
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
