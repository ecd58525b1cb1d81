// Package registry is Strata's span store: it assigns span ids and trace ids, links
// spans to their parents with reference counts, and keeps per-span extension data for
// layers in typed slots.
//
// Records are pooled. A [Handle] carries the generation of the record it was made for,
// so a stale handle (one kept after its span was closed and its record reused) can never
// read or change the new occupant: every operation through a handle first checks the
// generation, atomically with taking a reference.
//
// The registry imports no other Strata package; the subscriber package builds the
// user-facing API on top of it.
package registry

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// maxGen is the last generation a record may have. A record whose generation would wrap
// past it is retired (left to the garbage collector) instead of reused, so a handle kept
// from its first generation can never match a later occupant.
var maxGen uint32 = 1<<32 - 1

// SpanID identifies a span within a process. It is never zero; zero means "no span".
type SpanID uint64

// The record state word packs the generation, the closed flag and the reference count,
// so that "is this handle still current, and may I take a reference?" is one CAS.
const (
	refMask   = 1<<31 - 1
	closedBit = 1 << 31
	genShift  = 32
)

// Record is the registry's data for one span. Its fields are read through methods;
// layers keep their own data in extension slots ([Slot]).
type Record struct {
	state  atomic.Uint64 // gen<<32 | closed<<31 | refs
	id     SpanID
	trace  TraceID
	parent *Record
	start  int64 // Nanotime at creation
	reg    *Registry
	ext    []unsafe.Pointer // slot values, created on first use; see Slot
}

// ID returns the span's id.
func (r *Record) ID() SpanID { return r.id }

// TraceID returns the span's trace id.
func (r *Record) TraceID() TraceID { return r.trace }

// Parent returns the record of the in-process parent, or nil for a root. The parent is
// kept alive (not reused) for as long as this record is alive.
func (r *Record) Parent() *Record { return r.parent }

// Start returns the time the span was created.
func (r *Record) Start() time.Time { return Time(r.start) }

// StartNanos returns the creation time as a [Nanotime] reading.
func (r *Record) StartNanos() int64 { return r.start }

// Registry returns the registry the record belongs to.
func (r *Record) Registry() *Registry { return r.reg }

// Closed reports whether the span has been closed.
func (r *Record) Closed() bool { return r.state.Load()&closedBit != 0 }

// Handle returns a handle to the record's current generation. Call it only while you
// hold a reference (inside a layer hook, for instance).
func (r *Record) Handle() Handle {
	return Handle{rec: r, gen: uint32(r.state.Load() >> genShift)}
}

// Handle is a generation-checked reference to a Record. The zero Handle refers to
// nothing. Handles are values; copying one does not take a reference.
type Handle struct {
	rec *Record
	gen uint32
}

// IsZero reports whether h refers to no record.
func (h Handle) IsZero() bool { return h.rec == nil }

// Acquire takes a reference on the record if h is still current (its record has not been
// reused) and the record is alive. It returns the record, or nil when the handle is stale;
// a non-nil result must be given back with [Record.Release].
func (h Handle) Acquire() *Record {
	r := h.rec
	if r == nil {
		return nil
	}
	for {
		s := r.state.Load()
		if uint32(s>>genShift) != h.gen || s&refMask == 0 {
			return nil
		}
		if r.state.CompareAndSwap(s, s+1) {
			return r
		}
	}
}

// Close marks the span closed if h is current and the span is not yet closed. Exactly one
// caller of Close for a span gets true; that caller owns the span's own reference and must
// give it back with [Record.Release] once the close hooks have run.
func (h Handle) Close() (*Record, bool) {
	r := h.rec
	if r == nil {
		return nil, false
	}
	for {
		s := r.state.Load()
		if uint32(s>>genShift) != h.gen || s&closedBit != 0 || s&refMask == 0 {
			return nil, false
		}
		if r.state.CompareAndSwap(s, s|closedBit) {
			return r, true
		}
	}
}

// Retain takes one more reference on a record the caller already holds a reference to.
func (r *Record) Retain() { r.state.Add(1) }

// Release gives back one reference. When the last reference goes, the parent's
// reference is released too and the record returns to the pool with a new generation.
func (r *Record) Release() {
	for r != nil {
		s := r.state.Add(^uint64(0))
		if s&refMask != 0 {
			return
		}
		parent := r.parent
		r.reg.recycle(r, s)
		r = parent
	}
}

// Registry assigns ids and pools records. The zero value is not usable; call [New].
// A Registry is safe for concurrent use and has no global lock on its hot path.
type Registry struct {
	pool sync.Pool
	live [liveStripes]stripe
}

const liveStripes = 16

// stripe keeps the live counter of a group of records on its own cache line, so that
// parallel span creation does not contend on one word.
type stripe struct {
	n atomic.Int64
	_ [56]byte
}

// New returns an empty registry.
func New() *Registry {
	r := &Registry{}
	r.pool.New = func() any {
		rec := &Record{reg: r}
		rec.state.Store(1) // generation 0, one reference: ready for NewSpan
		return rec
	}
	return r
}

func (reg *Registry) stripeOf(r *Record) *stripe {
	p := uintptr(unsafe.Pointer(r))
	return &reg.live[(p>>6^p>>12)%liveStripes]
}

// NewSpan creates a span record with one reference (the span's own, given back when the
// span closes). parent may be nil; when it is not, the caller must hold a reference on it,
// which the new record takes over: the parent stays alive until the child is released.
// A zero trace id means a new random one.
func (reg *Registry) NewSpan(parent *Record, trace TraceID) *Record {
	r := reg.Reserve()
	reg.Activate(r, parent, trace)
	return r
}

// Reserve takes a record from the pool without making it a span: it has no id, no trace
// and no handle yet, and it is not counted as live. Its slot values may be filled (the
// subscriber copies a span's fields there for its filters to read). The caller then
// either makes it a span with [Registry.Activate] or gives it back with
// [Registry.Unreserve]; a span that every filter rejects thus never pays for ids,
// clocks or counters.
func (reg *Registry) Reserve() *Record {
	r := reg.pool.Get().(*Record)
	if n := int(slotCount.Load()); len(r.ext) < n {
		r.ext = growExt(r.ext, n)
	}
	return r
}

// Unreserve gives back a record from [Registry.Reserve] that was never activated. Its
// slot values are reset; no handle to it exists, so its generation is unchanged.
func (reg *Registry) Unreserve(r *Record) {
	resetExt(r.ext)
	r.parent = nil
	reg.pool.Put(r)
}

// Activate makes a reserved record a span, as [Registry.NewSpan] describes.
func (reg *Registry) Activate(r *Record, parent *Record, trace TraceID) {
	r.id = NewSpanID()
	if trace.IsZero() {
		if parent != nil {
			trace = parent.trace
		} else {
			trace = NewTraceID()
		}
	}
	r.trace = trace
	r.parent = parent
	r.start = Nanotime()
	// The state already reads "new generation, one reference": recycle left it so, and no
	// handle with that generation exists before this function returns.
	reg.stripeOf(r).n.Add(1)
}

// recycle resets a record whose last reference went and puts it back in the pool.
// s is the state at the moment the count reached zero.
func (reg *Registry) recycle(r *Record, s uint64) {
	resetExt(r.ext)
	r.parent = nil
	r.trace = TraceID{}
	reg.stripeOf(r).n.Add(-1)
	gen := uint32(s >> genShift)
	if gen >= maxGen {
		// The next generation would wrap to one that old handles may still carry: retire
		// the record. Its state keeps the closed flag and no reference, so a stale
		// handle's Acquire or Close fails on it forever.
		r.state.Store(s | closedBit)
		return
	}
	// A new generation makes every outstanding handle stale before the record is reused;
	// the one reference is the next span's own.
	r.state.Store(uint64(gen+1)<<genShift | 1)
	reg.pool.Put(r)
}

// Live returns the number of records not yet released: open spans, plus closed spans
// still referenced by a child or a layer. A number that grows without bound is a leak.
func (reg *Registry) Live() int64 {
	var n int64
	for i := range reg.live {
		n += reg.live[i].n.Load()
	}
	return n
}

// NewSpanID returns a random non-zero span id from a lock-free per-thread source.
func NewSpanID() SpanID {
	for {
		if id := rand.Uint64(); id != 0 {
			return SpanID(id)
		}
	}
}

// anchor is the process's time origin: span times are monotonic offsets from it, which
// is half the cost of time.Now and immune to wall-clock steps while the process runs.
var anchor = time.Now()

// Nanotime returns monotonic nanoseconds since the process's time anchor. Differences of
// two readings are exact durations; [Time] turns a reading into a wall-clock time.
func Nanotime() int64 { return int64(time.Since(anchor)) }

// Time returns the wall-clock time of a [Nanotime] reading.
func Time(nanos int64) time.Time { return anchor.Add(time.Duration(nanos)) }
