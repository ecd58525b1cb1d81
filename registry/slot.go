package registry

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Slot is a typed per-span extension: one value of type T per record, created once for
// each pooled record and reused with it. Layers create their slots once, at package or
// construction time, and read them with [Slot.Get]: an index and a type assertion, with
// no map and no reflection.
//
// Slots are process-wide, like tracing-subscriber's extensions keyed by type: two
// instances of one layer that share a package-level slot share the span's value. A layer
// that needs separate data per instance creates a slot per instance.
type Slot[T any] struct {
	idx int
}

var (
	slotMu    sync.Mutex
	slotCount atomic.Int32
	slotNew   []func() any
	slotReset []func(any)
	slotTabs  atomic.Pointer[slotTable]
)

type slotTable struct {
	newFn []func() any
	reset []func(any)
}

// NewSlot registers a slot. reset, if not nil, is called on the value when its record is
// released, before reuse: clear what the value holds so a closed span retains no memory
// and the next span starts clean. Register slots before composing the layers that use
// them; a record created before its slot was registered has no value for it.
func NewSlot[T any](reset func(*T)) Slot[T] {
	slotMu.Lock()
	defer slotMu.Unlock()
	idx := len(slotNew)
	slotNew = append(slotNew, func() any { return new(T) })
	var rf func(any)
	if reset != nil {
		rf = func(v any) { reset(v.(*T)) }
	}
	slotReset = append(slotReset, rf)
	slotTabs.Store(&slotTable{newFn: slices.Clone(slotNew), reset: slices.Clone(slotReset)})
	slotCount.Store(int32(len(slotNew)))
	return Slot[T]{idx: idx}
}

// Get returns the record's value for the slot, or nil when the record was created before
// the slot was registered.
func (s Slot[T]) Get(r *Record) *T {
	if s.idx >= len(r.ext) {
		return nil
	}
	return r.ext[s.idx].(*T)
}

func growExt(ext []any, n int) []any {
	tab := slotTabs.Load()
	for i := len(ext); i < n && i < len(tab.newFn); i++ {
		ext = append(ext, tab.newFn[i]())
	}
	return ext
}

func resetExt(ext []any) {
	if len(ext) == 0 {
		return
	}
	tab := slotTabs.Load()
	for i, v := range ext {
		if f := tab.reset[i]; f != nil {
			f(v)
		}
	}
}
