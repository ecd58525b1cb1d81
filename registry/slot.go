package registry

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Slot is a typed per-span extension: one value of type T per record, created the first
// time a layer asks for it ([Slot.Get]) and then reused with the pooled record. Layers
// create their slots once, at package or construction time, and read them with an index
// and an atomic load: no map, no reflection, no type assertion. A slot no layer asks
// for during a span costs that span no memory.
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
	slotNew   []func() unsafe.Pointer
	slotReset []func(unsafe.Pointer)
	slotTabs  atomic.Pointer[slotTable]
)

type slotTable struct {
	newFn []func() unsafe.Pointer
	reset []func(unsafe.Pointer)
}

// NewSlot registers a slot. reset, if not nil, is called on the value when its record is
// released, before reuse: clear what the value holds so a closed span retains no memory
// and the next span starts clean. Register slots before composing the layers that use
// them; a record created before its slot was registered has no value for it.
func NewSlot[T any](reset func(*T)) Slot[T] {
	slotMu.Lock()
	defer slotMu.Unlock()
	idx := len(slotNew)
	slotNew = append(slotNew, func() unsafe.Pointer { return unsafe.Pointer(new(T)) })
	var rf func(unsafe.Pointer)
	if reset != nil {
		rf = func(v unsafe.Pointer) { reset((*T)(v)) }
	}
	slotReset = append(slotReset, rf)
	slotTabs.Store(&slotTable{newFn: slices.Clone(slotNew), reset: slices.Clone(slotReset)})
	slotCount.Store(int32(len(slotNew)))
	return Slot[T]{idx: idx}
}

// Get returns the record's value for the slot, creating it on first use. It returns nil
// only when the record was created before the slot was registered. Get may be called
// concurrently for one record; every caller gets the same value.
func (s Slot[T]) Get(r *Record) *T {
	if s.idx >= len(r.ext) {
		return nil
	}
	if p := atomic.LoadPointer(&r.ext[s.idx]); p != nil {
		return (*T)(p)
	}
	return (*T)(r.create(s.idx))
}

// Peek returns the record's value for the slot if one was created (by [Slot.Get], for
// this span or an earlier span of the pooled record), or nil. Read paths that only need
// a value some hook already filled use it, so that they never create one.
func (s Slot[T]) Peek(r *Record) *T {
	if s.idx >= len(r.ext) {
		return nil
	}
	return (*T)(atomic.LoadPointer(&r.ext[s.idx]))
}

// create makes the value of slot idx; when two goroutines race, the first value stored
// wins and both return it.
func (r *Record) create(idx int) unsafe.Pointer {
	v := slotTabs.Load().newFn[idx]()
	if atomic.CompareAndSwapPointer(&r.ext[idx], nil, v) {
		return v
	}
	return atomic.LoadPointer(&r.ext[idx])
}

func growExt(ext []unsafe.Pointer, n int) []unsafe.Pointer {
	if cap(ext) >= n {
		return ext[:n]
	}
	grown := make([]unsafe.Pointer, n)
	copy(grown, ext)
	return grown
}

func resetExt(ext []unsafe.Pointer) {
	if len(ext) == 0 {
		return
	}
	tab := slotTabs.Load()
	for i, v := range ext {
		if v != nil {
			if f := tab.reset[i]; f != nil {
				f(v)
			}
		}
	}
}
