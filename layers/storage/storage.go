// Package storage is the layer that remembers what a span is about: its own fields, the
// fields it inherits from its ancestors, the error fields of events logged inside it,
// and, once it ends, how long it lasted. Other layers (logfmt, metrics, skywalking) read
// that data through this package's functions instead of keeping copies of their own.
//
// Compose it first, so that the layers after it find the data in their own hooks:
//
//	d := subscriber.MustNew(storage.New(), logfmt.New(os.Stderr))
//	subscriber.SetDefault(d)
//
// Then, from any later layer's hook:
//
//	route, ok := storage.Lookup(span, "http.route") // own field, else nearest ancestor's
//	storage.Range(span, func(k string, v slog.Value) bool { ...; return true })
//	if storage.HasError(span) { ... }               // EndErr, or an error field
//	ms := storage.Latency(span).Milliseconds()      // from storage's OnClose on
//
// # Inheritance without copies
//
// A span does not copy its ancestors' fields, nor its own: the subscriber already keeps
// a span's fields ([subscriber.SpanRef.Fields]), and storage reads them there. Storage
// keeps, per span, a pointer to its nearest stored ancestor's data (valid because a
// child keeps its parent record alive until the child is released), the error fields of
// events, and the timing. Starting a span therefore costs the same at depth 1 and at
// depth 100; reading inherited fields walks the chain, once per level ([Range] is linear
// in the fields it visits). A child's value for a key hides the ancestors' values for
// that key, and a field recorded on an ancestor after the child started is visible to
// the child.
//
// # Versions
//
// [Version] tells layers that format fields once (logfmt) when to format again. It costs
// two atomic loads at any depth: a span's own change counter plus an epoch kept by the
// root of its in-process tree. A span that changes (Record, a kept error event) bumps its
// own counter, and the tree's epoch only when it has live descendants, whose visible
// fields change with it. The trade-off: such a change makes every span of that tree
// report a new version, siblings and cousins included, so their formatted fields are
// redone (each once, on its next line). Changes to spans without live descendants, by
// far the usual kind (a leaf records its result; a request span records its status after
// its children ended), touch nothing else.
//
// # Errors
//
// A span has an error ([HasError]) when it ended with [subscriber.Span.EndErr], or when
// it holds one of the error fields (error, error.message, error.type, error_msg,
// error_stack, error_type) with a value that names an error ([subscriber.IsErrorValue]:
// not nil, not a nil error, not empty, not false): given at start, recorded, or carried
// by an event logged inside the span. The error fields of events are kept on the span as
// its own fields, so the close line and the metrics of a span that logged an error show
// it; an event's empty error field (slog.Any("error", err) with a nil err) is not kept.
// Once marked, a span stays marked.
//
// # Timing
//
// At close, storage records the span's exact duration ([Latency], from the monotonic
// clock; the logfmt layer prints it as latency_ms) and its busy time ([Busy]): the sum
// of the intervals during which the span was entered. A span is entered by Start; a
// span that was [subscriber.Span.Exit]ed and [subscriber.Span.Enter]ed again while it
// waited is busy for less than its latency.
//
// The data is kept in a process-wide registry slot: two storage layers composed into
// one dispatch would share it, so compose one.
package storage

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// Layer is the storage layer. Create it with [New] and compose it before the layers
// that read it. It has no configuration and no goroutines; all its state lives with
// the spans.
type Layer struct{}

// New returns the storage layer.
func New() *Layer { return &Layer{} }

// ServesOthers reports that storage exists for the layers composed with it: it wants no
// more spans and events than they do. Storing the fields of a DEBUG span that no other
// layer writes or exports would be pure cost, and an unfiltered storage layer would
// otherwise lower the dispatch's level floor to TRACE and make every disabled call pay.
func (l *Layer) ServesOthers() bool { return true }

// maxKeptCap bounds the capacity a pooled record or scratch buffer keeps for the next
// use, so that one span with thousands of fields does not pin that memory forever.
const maxKeptCap = 64

const (
	flagStored = 1 << iota // storage saw the span start
	flagErr                // the span holds an error field
	flagClosed             // OnClose ran: busy is final (set under mu)
)

// spanData is storage's per-span value, pooled with the record. It holds no copy of the
// span's fields: those are the subscriber's, read through self.
type spanData struct {
	// self is the span. The slot value lives and is reset with the span's record, so
	// self stays valid for as long as anyone can reach this value.
	self subscriber.SpanRef
	// parent is the nearest stored ancestor's data, or nil; root is the topmost (d itself
	// for a root). The child's reference on its parent record keeps them from being
	// reused while the child lives. Set once, in OnNewSpan, before any other hook of this
	// span or of its children runs.
	parent *spanData
	root   *spanData

	// version counts changes to the span's own fields; epoch (used on a root only)
	// counts changes to spans of its tree that had live descendants. See Version.
	version atomic.Uint64
	epoch   atomic.Uint64

	flags atomic.Uint32 // flagStored | flagErr | flagClosed
	// children counts the stored child records not yet released: while it is non-zero a
	// change to this span changes what descendants see.
	children atomic.Int32
	nextra   atomic.Int32 // len(*extra), read without the lock
	depth    int32        // number of stored ancestors

	// mu guards extra and the timing fields below.
	mu      sync.Mutex
	entered int32 // enter depth: Start enters once, Exit/Enter pair up
	enters  int32 // how many times the span was entered
	// extra holds the error fields of events, which the subscriber does not have: one
	// per key, in the order first seen. Allocated by the first such event, as most
	// spans never see one.
	extra     *[]slog.Attr
	enteredAt time.Duration // offset from start when entered last went 0 -> 1
	busy      time.Duration // sum of closed entered intervals
}

var slot = registry.NewSlot(func(d *spanData) {
	if d.flags.Load()&flagStored == 0 {
		return // storage is not composed, or did not see this span: nothing to clear
	}
	// The record is released after all of its descendants: the parent's count of live
	// children drops only now.
	if d.parent != nil {
		d.parent.children.Add(-1)
	}
	d.self = subscriber.SpanRef{}
	d.parent = nil
	d.root = nil
	d.depth = 0
	d.flags.Store(0)
	d.children.Store(0)
	d.version.Store(0)
	d.epoch.Store(0)
	d.nextra.Store(0)
	if d.extra != nil {
		clear(*d.extra)
		if cap(*d.extra) > maxKeptCap {
			d.extra = nil
		} else {
			*d.extra = (*d.extra)[:0]
		}
	}
	d.entered = 0
	d.enters = 0
	d.enteredAt = 0
	d.busy = 0
})

// dataOf returns storage's data for span, or nil when storage did not see the span.
func dataOf(span subscriber.SpanRef) *spanData {
	r := span.Record()
	if r == nil {
		return nil
	}
	d := slot.Peek(r)
	if d == nil || d.flags.Load()&flagStored == 0 {
		return nil
	}
	return d
}

// isErrorKey reports whether key is one of the fields that mark a span as failed and
// that storage keeps from events.
func isErrorKey(key string) bool {
	if len(key) < 5 || key[0] != 'e' {
		return false // most keys, without the switch
	}
	switch key {
	case "error", "error.message", "error.type", "error_msg", "error_stack", "error_type":
		return true
	}
	return false
}

// isError reports whether a marks a span failed: an error field whose value names an
// error (slog.Any("error", err) with a nil err does not).
func isError(a *slog.Attr) bool { return isErrorKey(a.Key) && subscriber.IsErrorValue(a.Value) }

func hasErrorField(fields []slog.Attr) bool {
	for i := range fields {
		if isError(&fields[i]) {
			return true
		}
	}
	return false
}

// changed records a change to d's own fields. Bumped after the change: a reader that
// sees the new version and then reads the fields sees the new ones.
func (d *spanData) changed() {
	d.version.Add(1)
	// A child counted here incremented the count before it first read its version and
	// our fields, so either it read the new fields or it sees the new epoch.
	if d.children.Load() > 0 {
		d.root.epoch.Add(1)
	}
}

// OnNewSpan links the span to its nearest stored ancestor and notes an error field.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	d := slot.Get(span.Record())
	if d == nil {
		return // a record made before the slot existed; cannot happen after init
	}
	// The nearest ancestor storage saw: a parent filtered out of storage is skipped.
	for p := span.Parent(); !p.IsZero(); p = p.Parent() {
		if pd := slot.Peek(p.Record()); pd != nil && pd.flags.Load()&flagStored != 0 {
			pd.children.Add(1)
			d.parent = pd
			d.root = pd.root
			d.depth = pd.depth + 1
			break
		}
	}
	if d.root == nil {
		d.root = d
	}
	d.self = span
	flags := uint32(flagStored)
	if hasErrorField(fields) {
		flags |= flagErr
	}
	d.version.Store(1)
	d.flags.Store(flags)
}

// OnRecord notes the change (the subscriber keeps the fields) and an error field.
func (l *Layer) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	d := dataOf(span)
	if d == nil || len(fields) == 0 {
		return
	}
	if d.nextra.Load() != 0 {
		// A recorded value is newer than an event's error field with the same key.
		d.mu.Lock()
		*d.extra = deleteKeys(*d.extra, fields)
		d.nextra.Store(int32(len(*d.extra)))
		d.mu.Unlock()
	}
	if hasErrorField(fields) {
		d.flags.Or(flagErr)
	}
	d.changed()
}

func deleteKeys(s []slog.Attr, del []slog.Attr) []slog.Attr {
	n := 0
	for _, a := range s {
		if indexKey(del, a.Key) < 0 {
			s[n] = a
			n++
		}
	}
	clear(s[n:])
	return s[:n]
}

// OnEvent keeps the error fields of an event logged inside a span on that span, those
// that name an error.
func (l *Layer) OnEvent(ev *subscriber.Event) {
	if ev.Span.IsZero() {
		return
	}
	n := 0
	for i := range ev.Attrs {
		if isErrorKey(ev.Attrs[i].Key) {
			n++
		}
	}
	if n == 0 {
		return // most events: a scan of the keys only
	}
	d := dataOf(ev.Span)
	if d == nil {
		return
	}
	kept := false
	d.mu.Lock()
	for i := range ev.Attrs {
		a := &ev.Attrs[i]
		if !isError(a) {
			continue
		}
		if d.extra == nil {
			d.extra = new([]slog.Attr)
		}
		if j := indexKey(*d.extra, a.Key); j >= 0 {
			(*d.extra)[j].Value = a.Value
		} else {
			*d.extra = append(*d.extra, *a)
		}
		kept = true
	}
	if kept {
		d.nextra.Store(int32(len(*d.extra)))
	}
	d.mu.Unlock()
	if kept {
		d.flags.Or(flagErr)
		d.changed()
	}
}

// OnEnter starts a busy interval when the span becomes active.
func (l *Layer) OnEnter(span subscriber.SpanRef) {
	d := dataOf(span)
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.entered == 0 {
		if d.enters == 0 {
			d.enteredAt = 0 // Start's own enter: the span is busy from its very start
		} else {
			d.enteredAt = span.Duration()
		}
	}
	d.entered++
	d.enters++
	d.mu.Unlock()
}

// OnExit ends the current busy interval.
func (l *Layer) OnExit(span subscriber.SpanRef) {
	d := dataOf(span)
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.entered > 0 {
		d.entered--
		if d.entered == 0 {
			d.busy += span.Duration() - d.enteredAt
		}
	}
	d.mu.Unlock()
}

// OnClose makes the span's busy time final. Its latency is final already: the
// subscriber stamps the end before any OnClose runs.
func (l *Layer) OnClose(span subscriber.SpanRef) {
	d := dataOf(span)
	if d == nil {
		return
	}
	latency := span.Duration()
	d.mu.Lock()
	if d.entered > 0 {
		d.busy += latency - d.enteredAt
		d.entered = 0
	}
	d.busy = min(d.busy, latency)
	d.flags.Or(flagClosed)
	d.mu.Unlock()
}
