package subscriber

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
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
	// endedParent is the id of the span in the ctx this span was started from, when that
	// span had already ended and its record was gone: the span is no root, but it cannot
	// reach its parent's data. 0 otherwise (also when the parent is alive).
	endedParent registry.SpanID

	// hookMu serialises the hooks that run outside Start and End (Record, Enter, Exit,
	// FollowsFrom) with each other and with End, so that no layer sees one of them after
	// the span's OnClose.
	hookMu sync.Mutex
	// mu guards fields after the span is published. The error EndErr ended the span
	// with is its "error" field (with failed set), not a field of its own: every open
	// span would carry the word.
	mu     sync.Mutex
	fields []slog.Attr
	// failed, end and exits are read and written with sync/atomic functions while the
	// span is alive, and with plain writes by the reset, when nothing else can reach it
	// (an atomic store there would cost a locked instruction per field per span).
	failed uint32 // 1 once the span ended with an error; read lock-free by every metrics close
	// exits is (exits - enters): the span is entered 1-exits times. Starting at zero means
	// "entered once" with no store at Start. Next to failed, so the two share a word.
	exits int32
	end   int64 // registry.Nanotime at End; 0 while open
}

var stateSlot = registry.NewSlot(func(s *spanState) {
	s.meta = Metadata{}
	s.d = nil
	s.mask = 0
	s.remote = nil
	s.endedParent = 0
	clear(s.fields)
	s.fields = s.fields[:0]
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

// ParentID returns the id of the span's parent: the in-process parent's, or, for a span
// started from the ctx of a span that had already ended (see [SpanRef.ParentEnded]),
// that ended span's. It is 0 for a root and for a span continuing a remote parent.
func (s SpanRef) ParentID() registry.SpanID {
	if s.rec == nil {
		return 0
	}
	if p := s.rec.Parent(); p != nil {
		return p.ID()
	}
	return s.st.endedParent
}

// ParentEnded reports whether the span was started from the ctx of a span that had
// already ended and been released (a goroutine that outlives the request that started
// it, for instance). Such a span keeps its parent's trace and [SpanRef.ParentID], but
// [SpanRef.Parent] is the zero SpanRef: the parent's fields are gone. Layers tell it
// from a true root this way; the SkyWalking layer exports it in a new segment with a
// CrossThread reference to the parent. Costs nothing when the parent is alive.
func (s SpanRef) ParentEnded() bool {
	return s.rec != nil && s.rec.Parent() == nil && s.st.endedParent != 0
}

// Metadata returns the span's metadata (empty metadata for the zero SpanRef).
func (s SpanRef) Metadata() *Metadata {
	if s.rec == nil {
		return &Metadata{}
	}
	return &s.st.meta
}

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

// Start returns when the span started (the zero time for the zero SpanRef).
func (s SpanRef) Start() time.Time {
	if s.rec == nil {
		return time.Time{}
	}
	return s.rec.Start()
}

// End returns when the span ended; the zero time while it is open. Inside OnClose it is set.
func (s SpanRef) End() time.Time {
	if s.rec == nil {
		return time.Time{}
	}
	if n := atomic.LoadInt64(&s.st.end); n != 0 {
		return registry.Time(n)
	}
	return time.Time{}
}

// Duration returns how long the span lasted (so far, while it is open): exact, from the
// monotonic clock.
func (s SpanRef) Duration() time.Duration {
	if s.rec == nil {
		return 0
	}
	end := atomic.LoadInt64(&s.st.end)
	if end == 0 {
		end = registry.Nanotime()
	}
	return time.Duration(end - s.rec.StartNanos())
}

// Err returns the error the span ended with ([Span.EndErr]), or nil.
func (s SpanRef) Err() error {
	if s.rec == nil {
		return nil
	}
	if atomic.LoadUint32(&s.st.failed) == 0 {
		return nil
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for i := len(s.st.fields) - 1; i >= 0; i-- {
		if s.st.fields[i].Key == "error" {
			err, _ := s.st.fields[i].Value.Any().(error)
			return err
		}
	}
	return nil
}

// Failed reports whether the span ended with an error.
func (s SpanRef) Failed() bool { return s.rec != nil && atomic.LoadUint32(&s.st.failed) != 0 }

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
	st.hookMu.Lock()
	defer st.hookMu.Unlock()
	if r.Closed() {
		return
	}
	st.mu.Lock()
	bp := recordScratch.Get().(*[]slog.Attr)
	defer putRecordScratch(bp)
	*bp = appendAttrs((*bp)[:0], attrs)
	st.fields = mergeAttrs(st.fields, *bp)
	st.mu.Unlock()
	st.d.dispatchRecord(SpanRef{r, st}, *bp)
}

// recordScratch holds the flattened fields of a Record call while its hooks run: a pool
// rather than a buffer per span, which every open span would carry.
var recordScratch = sync.Pool{New: func() any { s := make([]slog.Attr, 0, 8); return &s }}

func putRecordScratch(bp *[]slog.Attr) {
	clear(*bp)
	if cap(*bp) <= 64 {
		*bp = (*bp)[:0]
		recordScratch.Put(bp)
	}
}

func (d *Dispatch) dispatchRecord(ref SpanRef, fields []slog.Attr) {
	for i := range d.layers {
		l := &d.layers[i]
		if l.record != nil && ref.st.mask&l.bit != 0 {
			l.record.OnRecord(ref, fields)
		}
	}
}

// dedupAttrs keeps one attr per key, at the key's first position with its last value,
// as if the fields had been recorded one by one: a span's fields are a map.
func dedupAttrs(attrs []slog.Attr) []slog.Attr {
	if len(attrs) < 2 {
		return attrs
	}
	if len(attrs) <= 16 {
		dup := false
		for i := 1; i < len(attrs) && !dup; i++ {
			for j := 0; j < i; j++ {
				if attrs[i].Key == attrs[j].Key {
					dup = true
					break
				}
			}
		}
		if !dup {
			return attrs
		}
	}
	first := make(map[string]int, len(attrs))
	n := 0
	for _, a := range attrs {
		if i, ok := first[a.Key]; ok {
			attrs[i].Value = a.Value
			continue
		}
		first[a.Key] = n
		attrs[n] = a
		n++
	}
	clear(attrs[n:])
	return attrs[:n]
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
	if st.d != ost.d {
		return
	}
	st.hookMu.Lock()
	defer st.hookMu.Unlock()
	if r.Closed() {
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
	st.hookMu.Lock()
	defer st.hookMu.Unlock()
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
	st.hookMu.Lock()
	defer st.hookMu.Unlock()
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
// A nil err, also a typed nil (an error interface holding a nil pointer), is a plain End.
func (s Span) EndErr(err error) {
	if err != nil && isNilPointer(err) {
		err = nil
	}
	s.end(err)
}

func (s Span) end(err error) {
	r, ok := s.h.Close()
	if !ok {
		return
	}
	st := stateOf(r)
	d := st.d
	if d.guarded {
		// Wait for a Record, Enter, Exit or FollowsFrom that started before the close, so
		// its hooks come before OnClose; those that come later see the span closed.
		st.hookMu.Lock()
		st.hookMu.Unlock() //nolint:staticcheck // an empty critical section is the point
	}
	d.closeSpan(SpanRef{r, st}, err)
}

// closeSpan runs the end of a span whose close flag its caller set: the error, OnExit,
// every layer's OnClose, and the release of the span's own reference. A panicking layer
// does not keep the later layers from their OnClose nor the record from its release;
// the first panic goes on to the caller once they are done.
func (d *Dispatch) closeSpan(ref SpanRef, err error) {
	r, st := ref.rec, ref.st
	defer r.Release()
	if err != nil {
		errAttr := [1]slog.Attr{slog.Any("error", err)}
		st.mu.Lock()
		atomic.StoreUint32(&st.failed, 1)
		st.fields = mergeAttrs(st.fields, errAttr[:])
		st.mu.Unlock()
		d.dispatchRecord(ref, errAttr[:])
	}
	atomic.StoreInt64(&st.end, max(registry.Nanotime(), 1))
	if d.hasExit && atomic.SwapInt32(&st.exits, 1) < 1 {
		d.exit(ref)
	}
	d.closeLayers(ref, 0)
}

// closeLayers runs OnClose for the layers from index i on. When one panics, the deferred
// call runs the rest and then lets the panic go on.
func (d *Dispatch) closeLayers(ref SpanRef, i int) {
	defer func() {
		if i < len(d.layers) {
			// Only a panic leaves the loop early.
			p := recover()
			d.closeLayers(ref, i+1)
			if p != nil { // nil: runtime.Goexit, which goes on by itself
				panic(p)
			}
		}
	}()
	for ; i < len(d.layers); i++ {
		l := &d.layers[i]
		if l.close != nil && ref.st.mask&l.bit != 0 {
			l.close.OnClose(ref)
		}
	}
}

// startSpan is the slow path of Start, after the level and target checks. A detached
// span (Tracer.Go) has no in-process parent: it keeps the trace of the span in ctx,
// follows from that span, and its ctx is not cancelled with the caller's. skip is the
// runtime.Callers skip that names the user's call, should a layer want span locations.
func (d *Dispatch) startSpan(ctx context.Context, meta Metadata, attrs []slog.Attr, detached bool, skip int) (context.Context, Span) {
	var (
		parent *registry.Record
		trace  registry.TraceID
		remote *RemoteParent
		caller *registry.Record
		// endedParent: the span in ctx ended and was released before this start.
		endedParent registry.SpanID
	)
	if ctx == nil {
		ctx = context.Background()
	}
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
			} else if !detached {
				endedParent = c.id
			}
		}
	case *remoteCtx:
		if !detached {
			remote = c.remote
		}
		trace = c.remote.TraceID
	}
	// The record is reserved, not yet a span: filters read the flattened fields from it,
	// and a span every layer rejects costs no ids, clock reads or counters.
	rec := d.reg.Reserve()
	st := stateOf(rec)
	st.meta = meta
	st.d = d
	st.fields = dedupAttrs(appendAttrs(st.fields[:0], attrs))
	phase := 0 // 0: filters; 1: hooks of a live span; 2: done
	defer func() {
		if phase == 2 {
			return
		}
		// A filter or a layer panicked: leak nothing, and let the panic go on.
		p := recover()
		if phase == 0 {
			d.reg.Unreserve(rec)
			parent.Release()
		} else if r, ok := rec.Handle().Close(); ok {
			// The layers that saw OnNewSpan see the span close.
			d.closeSpan(SpanRef{r, st}, fmt.Errorf("panic while starting the span: %v", p))
		}
		caller.Release()
		if p != nil { // nil: runtime.Goexit, which goes on by itself
			panic(p)
		}
	}()
	mask := d.enabledMask(&st.meta, Scope{Parent: refOf(parent), Fields: st.fields})
	if mask == 0 {
		phase = 2
		d.reg.Unreserve(rec)
		parent.Release()
		caller.Release()
		return ctx, Span{}
	}
	d.reg.Activate(rec, parent, trace)
	if mask&d.spanLoc != 0 {
		var pcs [1]uintptr
		runtime.Callers(skip, pcs[:])
		st.meta.PC = pcs[0]
	}
	st.remote = remote
	st.endedParent = endedParent
	ref := SpanRef{rec, st}
	phase = 1
	var seen uint64 // the layers that saw OnNewSpan, should a later one panic
	for i := range d.layers {
		l := &d.layers[i]
		if mask&l.bit != 0 {
			seen |= l.bit
			st.mask = seen
			if l.newSpan != nil {
				l.newSpan.OnNewSpan(ref, st.fields)
			}
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
		caller = nil
	}
	phase = 2
	h := rec.Handle()
	return &spanCtx{Context: ctx, h: h, trace: rec.TraceID(), id: rec.ID(), d: d}, Span{h: h}
}
