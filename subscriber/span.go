package subscriber

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/registry"
)

// spanState is the subscriber's own per-span data, kept in a registry slot so that it is
// pooled with the record.
type spanState struct {
	meta   Metadata
	d      *Dispatch
	mask   uint64 // bit i set: layer i enabled this span
	remote *RemoteParent

	// recordMu serialises Record calls with each other and with End, so no layer sees a
	// record after the close.
	recordMu sync.Mutex
	// mu guards fields, scratch, err and end after the span is published.
	mu      sync.Mutex
	fields  []slog.Attr
	scratch []slog.Attr
	err     error
	// failed, end and exits are read and written with sync/atomic functions while the
	// span is alive, and with plain writes by the reset, when nothing else can reach it
	// (an atomic store there would cost a locked instruction per field per span).
	failed uint32 // 1 once the span ended with an error; read lock-free by every metrics close
	end    int64  // registry.Nanotime at End; 0 while open
	// exits is (exits - enters): the span is entered 1-exits times. Starting at zero means
	// "entered once" with no store at Start.
	exits int32
}

var stateSlot = registry.NewSlot(func(s *spanState) {
	s.meta = Metadata{}
	s.d = nil
	s.mask = 0
	s.remote = nil
	clear(s.fields)
	s.fields = s.fields[:0]
	clear(s.scratch)
	s.scratch = s.scratch[:0]
	s.err = nil
	s.failed = 0
	s.end = 0
	s.exits = 0
})

func stateOf(r *registry.Record) *spanState { return stateSlot.Get(r) }

// SpanRef is a layer's view of a span during a hook. It is valid only while the hook
// runs (the span is kept alive for that long); a layer that needs data later copies it,
// or keeps the record alive with Record().Retain() and Record().Release().
type SpanRef struct {
	rec *registry.Record
	st  *spanState
}

func refOf(r *registry.Record) SpanRef {
	if r == nil {
		return SpanRef{}
	}
	return SpanRef{rec: r, st: stateOf(r)}
}

// IsZero reports whether s refers to no span.
func (s SpanRef) IsZero() bool { return s.rec == nil }

// Record returns the registry record, for reading a layer's extension slot.
func (s SpanRef) Record() *registry.Record { return s.rec }

// ID returns the span id (0 for the zero SpanRef).
func (s SpanRef) ID() registry.SpanID {
	if s.rec == nil {
		return 0
	}
	return s.rec.ID()
}

// TraceID returns the span's trace id.
func (s SpanRef) TraceID() registry.TraceID {
	if s.rec == nil {
		return registry.TraceID{}
	}
	return s.rec.TraceID()
}

// Parent returns the in-process parent (the zero SpanRef for a root). A parent that has
// already ended is still readable: the child keeps it alive.
func (s SpanRef) Parent() SpanRef {
	if s.rec == nil {
		return SpanRef{}
	}
	return refOf(s.rec.Parent())
}

// Metadata returns the span's metadata.
func (s SpanRef) Metadata() *Metadata { return &s.st.meta }

// Name returns the span's name.
func (s SpanRef) Name() string {
	if s.rec == nil {
		return ""
	}
	return s.st.meta.Name
}

// Remote returns the remote parent the span continues (extracted from a carrier), or nil.
func (s SpanRef) Remote() *RemoteParent {
	if s.rec == nil {
		return nil
	}
	return s.st.remote
}

// Start returns when the span started.
func (s SpanRef) Start() time.Time { return s.rec.Start() }

// End returns when the span ended; the zero time while it is open. Inside OnClose it is set.
func (s SpanRef) End() time.Time {
	if n := atomic.LoadInt64(&s.st.end); n != 0 {
		return registry.Time(n)
	}
	return time.Time{}
}

// Duration returns how long the span lasted (so far, while it is open): exact, from the
// monotonic clock.
func (s SpanRef) Duration() time.Duration {
	end := atomic.LoadInt64(&s.st.end)
	if end == 0 {
		end = registry.Nanotime()
	}
	return time.Duration(end - s.rec.StartNanos())
}

// Err returns the error the span ended with ([Span.EndErr]), or nil.
func (s SpanRef) Err() error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.st.err
}

// Failed reports whether the span ended with an error.
func (s SpanRef) Failed() bool { return atomic.LoadUint32(&s.st.failed) != 0 }

// Closed reports whether the span has ended.
func (s SpanRef) Closed() bool { return s.rec != nil && s.rec.Closed() }

// Field returns the value of one of the span's own fields (not inherited ones).
func (s SpanRef) Field(key string) (slog.Value, bool) {
	if s.rec == nil {
		return slog.Value{}, false
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for i := len(s.st.fields) - 1; i >= 0; i-- {
		if s.st.fields[i].Key == key {
			return s.st.fields[i].Value, true
		}
	}
	return slog.Value{}, false
}

// Fields appends the span's own fields (given at start and recorded since, the newest
// value of each key) to dst and returns it.
func (s SpanRef) Fields(dst []slog.Attr) []slog.Attr {
	if s.rec == nil {
		return dst
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return append(dst, s.st.fields...)
}

// Span is the handle users get from Start. The zero Span (a disabled span) is valid and
// does nothing. A Span may be used from any goroutine; after End it is inert, and a Span
// kept after its record was reused never touches the new span.
type Span struct {
	h registry.Handle
}

// IsRecording reports whether the span is enabled and has not ended.
func (s Span) IsRecording() bool {
	r := s.h.Acquire()
	if r == nil {
		return false
	}
	defer r.Release()
	return !r.Closed()
}

// ID returns the span id, or 0 for a disabled or finished span.
func (s Span) ID() registry.SpanID {
	r := s.h.Acquire()
	if r == nil {
		return 0
	}
	defer r.Release()
	return r.ID()
}

// TraceID returns the trace id, or the zero id for a disabled or finished span.
func (s Span) TraceID() registry.TraceID {
	r := s.h.Acquire()
	if r == nil {
		return registry.TraceID{}
	}
	defer r.Release()
	return r.TraceID()
}

// Record adds fields to the span, or updates the value of fields it has. Fields recorded
// after End are dropped.
func (s Span) Record(attrs ...slog.Attr) {
	r := s.h.Acquire()
	if r == nil {
		return
	}
	defer r.Release()
	st := stateOf(r)
	st.recordMu.Lock()
	defer st.recordMu.Unlock()
	if r.Closed() {
		return
	}
	st.mu.Lock()
	st.scratch = appendAttrs(st.scratch[:0], attrs)
	st.fields = mergeAttrs(st.fields, st.scratch)
	st.mu.Unlock()
	// scratch is only written under recordMu, which we hold, so layers may read it.
	st.d.dispatchRecord(SpanRef{r, st}, st.scratch)
}

func (d *Dispatch) dispatchRecord(ref SpanRef, fields []slog.Attr) {
	for i := range d.layers {
		l := &d.layers[i]
		if l.record != nil && ref.st.mask&l.bit != 0 {
			l.record.OnRecord(ref, fields)
		}
	}
}

// mergeAttrs sets each attr of add in dst, replacing the value of a key dst has.
func mergeAttrs(dst, add []slog.Attr) []slog.Attr {
outer:
	for _, a := range add {
		for i := range dst {
			if dst[i].Key == a.Key {
				dst[i].Value = a.Value
				continue outer
			}
		}
		dst = append(dst, a)
	}
	return dst
}

// FollowsFrom records that s was caused by other, a span that is not its parent (a
// batch that a request queued, for instance). Both must be spans of the same Dispatch.
func (s Span) FollowsFrom(other Span) {
	r := s.h.Acquire()
	if r == nil {
		return
	}
	defer r.Release()
	o := other.h.Acquire()
	if o == nil {
		return
	}
	defer o.Release()
	st, ost := stateOf(r), stateOf(o)
	if st.d != ost.d || r.Closed() {
		return
	}
	st.d.followsFrom(SpanRef{r, st}, SpanRef{o, ost})
}

func (d *Dispatch) followsFrom(ref, other SpanRef) {
	for i := range d.layers {
		l := &d.layers[i]
		if l.follows != nil && ref.st.mask&l.bit != 0 {
			l.follows.OnFollowsFrom(ref, other)
		}
	}
}

// Enter marks the span active again after [Span.Exit] (work resumed on it). Start enters
// a span; the storage layer counts busy time between enters and exits.
func (s Span) Enter() {
	r := s.h.Acquire()
	if r == nil {
		return
	}
	defer r.Release()
	st := stateOf(r)
	if r.Closed() {
		return
	}
	atomic.AddInt32(&st.exits, -1)
	ref := SpanRef{r, st}
	for i := range st.d.layers {
		l := &st.d.layers[i]
		if l.enter != nil && st.mask&l.bit != 0 {
			l.enter.OnEnter(ref)
		}
	}
}

// Exit marks the span inactive (work on it paused) until the next [Span.Enter].
func (s Span) Exit() {
	r := s.h.Acquire()
	if r == nil {
		return
	}
	defer r.Release()
	st := stateOf(r)
	for {
		n := atomic.LoadInt32(&st.exits)
		if n >= 1 || r.Closed() {
			return
		}
		if atomic.CompareAndSwapInt32(&st.exits, n, n+1) {
			break
		}
	}
	st.d.exit(SpanRef{r, st})
}

func (d *Dispatch) exit(ref SpanRef) {
	for i := range d.layers {
		l := &d.layers[i]
		if l.exit != nil && ref.st.mask&l.bit != 0 {
			l.exit.OnExit(ref)
		}
	}
}

// End ends the span. It is idempotent and safe from any goroutine: the first call runs
// the layers' OnExit and OnClose, later calls do nothing.
func (s Span) End() {
	if !s.h.IsZero() { // a disabled span: not even a call
		s.end(nil)
	}
}

// EndErr ends the span with an error: a non-nil err is recorded as the field "error"
// and marks the span failed (metrics count it as result="error", exporters flag it).
// A nil err is a plain End.
func (s Span) EndErr(err error) { s.end(err) }

func (s Span) end(err error) {
	r, ok := s.h.Close()
	if !ok {
		return
	}
	st := stateOf(r)
	d := st.d
	if d.hasRecord {
		// Wait for a Record that started before the close, so its OnRecord comes first.
		st.recordMu.Lock()
		st.recordMu.Unlock() //nolint:staticcheck // an empty critical section is the point
	}
	ref := SpanRef{r, st}
	if err != nil {
		errAttr := [1]slog.Attr{slog.Any("error", err)}
		st.mu.Lock()
		st.err = err
		atomic.StoreUint32(&st.failed, 1)
		st.fields = mergeAttrs(st.fields, errAttr[:])
		st.mu.Unlock()
		d.dispatchRecord(ref, errAttr[:])
	}
	atomic.StoreInt64(&st.end, max(registry.Nanotime(), 1))
	if d.hasExit && atomic.SwapInt32(&st.exits, 1) < 1 {
		d.exit(ref)
	}
	for i := range d.layers {
		l := &d.layers[i]
		if l.close != nil && st.mask&l.bit != 0 {
			l.close.OnClose(ref)
		}
	}
	r.Release()
}

// startSpan is the slow path of Start, after the level and target checks. A detached
// span (Tracer.Go) has no in-process parent: it keeps the trace of the span in ctx,
// follows from that span, and its ctx is not cancelled with the caller's.
func (d *Dispatch) startSpan(ctx context.Context, meta Metadata, attrs []slog.Attr, detached bool) (context.Context, Span) {
	var (
		parent *registry.Record
		trace  registry.TraceID
		remote *RemoteParent
		caller *registry.Record
	)
	if detached {
		ctx = context.WithoutCancel(ctx) // values (and the span in ctx) are kept
	}
	switch c := current(ctx).(type) {
	case *spanCtx:
		trace = c.trace
		if c.d == d {
			if p := c.h.Acquire(); p != nil {
				if detached {
					caller = p
				} else {
					parent = p
				}
			}
		}
	case *remoteCtx:
		if !detached {
			remote = c.remote
		}
		trace = c.remote.TraceID
	}
	rec := d.reg.NewSpan(parent, trace)
	st := stateOf(rec)
	st.meta = meta
	st.d = d
	st.remote = remote
	st.fields = appendAttrs(st.fields[:0], attrs)
	ref := SpanRef{rec, st}
	parentRef := refOf(parent)

	var mask uint64
	for i := range d.layers {
		l := &d.layers[i]
		if l.enabled(&st.meta, Scope{Parent: parentRef, Fields: st.fields}) {
			mask |= l.bit
		}
	}
	if mask == 0 {
		rec.Release() // also gives back the parent reference
		if caller != nil {
			caller.Release()
		}
		return ctx, Span{}
	}
	st.mask = mask
	for i := range d.layers {
		l := &d.layers[i]
		if l.newSpan != nil && mask&l.bit != 0 {
			l.newSpan.OnNewSpan(ref, st.fields)
		}
	}
	for i := range d.layers {
		l := &d.layers[i]
		if l.enter != nil && mask&l.bit != 0 {
			l.enter.OnEnter(ref)
		}
	}
	if caller != nil {
		d.followsFrom(ref, refOf(caller))
		caller.Release()
	}
	h := rec.Handle()
	return &spanCtx{Context: ctx, h: h, trace: rec.TraceID(), id: rec.ID(), d: d}, Span{h: h}
}
