package registry

import "testing"

// A record's generation is 32 bits. Were it to wrap, a handle kept from the record's
// first generation would match the occupant 2³² reuses later; the registry retires a
// record at its last generation instead.
func TestRecordAtLastGenerationIsRetiredNotReused(t *testing.T) {
	reg := New()
	r := reg.NewSpan(nil, TraceID{})
	first := r.Handle() // generation 0, kept by a careless layer
	if first.gen != 0 {
		t.Fatalf("a new record's generation = %d, want 0", first.gen)
	}
	// Fast-forward the record to its last generation, as 2³²-1 reuses would.
	r.state.Store(uint64(maxGen)<<genShift | 1)
	last := r.Handle()
	if _, ok := last.Close(); !ok {
		t.Fatal("Close at the last generation failed")
	}
	r.Release()

	if got := first.Acquire(); got != nil {
		got.Release()
		t.Fatal("a handle from generation 0 acquired the record after its generation wrapped")
	}
	if got := last.Acquire(); got != nil {
		got.Release()
		t.Fatal("a handle to the released span acquired its record")
	}
	if _, ok := first.Close(); ok {
		t.Fatal("a generation-0 handle closed the retired record")
	}
	if reg.Live() != 0 {
		t.Fatalf("Live() = %d after the release, want 0", reg.Live())
	}
	for i := 0; i < 1000; i++ {
		n := reg.NewSpan(nil, TraceID{})
		if n == r {
			t.Fatal("the retired record came back from the pool")
		}
		n.Release()
	}
}
