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
// A span does not copy its ancestors' fields. It keeps its own fields and a pointer to
// its nearest stored ancestor's data, which stays valid because a child keeps its parent
// record alive until the child is released. Starting a span therefore costs the same at
// depth 1 and at depth 100; reading inherited fields walks the chain. A child's value
// for a key hides the ancestors' values for that key, and a field recorded on an
// ancestor after the child started is visible to the child.
//
// # Errors
//
// A span has an error ([HasError]) when it ended with [subscriber.Span.EndErr], or when
// it holds one of the error fields (error, error.message, error.type, error_msg,
// error_stack, error_type): given at start, recorded, or carried by an event logged
// inside the span. Those event fields are kept on the span as its own fields, so the
// close line and the metrics of a span that logged an error show it.
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

// maxKeptCap bounds the field capacity a pooled record keeps for the next span, so that
// one span with thousands of fields does not pin that memory forever.
const maxKeptCap = 64

// spanData is storage's per-span value, pooled with the record.
type spanData struct {
	// parent is the nearest stored ancestor's data, or nil. The child's reference on
	// its parent record keeps it from being reused while the child lives. It is set
	// once, in OnNewSpan, before any other hook of this span or of its children runs.
	parent *spanData
	depth  int // number of stored ancestors

	stored atomic.Bool

	// mu guards own and the timing fields below.
	mu  sync.Mutex
	own []slog.Attr // own fields, one per key, in the order first seen

	// version counts changes to own; see Version.
	version atomic.Uint64
	hasErr  atomic.Bool

	entered   int32         // enter depth: Start enters once, Exit/Enter pair up
	enters    int32         // how many times the span was entered
	enteredAt time.Duration // offset from start when entered last went 0 -> 1
	busy      time.Duration // sum of closed entered intervals

	closed    atomic.Bool
	latencyNs atomic.Int64
	busyNs    atomic.Int64
}

var slot = registry.NewSlot(func(d *spanData) {
	if !d.stored.Load() {
		return // storage is not composed, or did not see this span: nothing to clear
	}
	d.parent = nil
	d.depth = 0
	d.stored.Store(false)
	clear(d.own)
	if cap(d.own) > maxKeptCap {
		d.own = nil
	} else {
		d.own = d.own[:0]
	}
	d.version.Store(0)
	d.hasErr.Store(false)
	d.entered = 0
	d.enters = 0
	d.enteredAt = 0
	d.busy = 0
	d.closed.Store(false)
	d.latencyNs.Store(0)
	d.busyNs.Store(0)
})

// dataOf returns storage's data for span, or nil when storage did not see the span.
func dataOf(span subscriber.SpanRef) *spanData {
	r := span.Record()
	if r == nil {
		return nil
	}
	d := slot.Get(r)
	if d == nil || !d.stored.Load() {
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

// set merges fields into d.own (the newest value of a key wins) and reports whether an
// error field was among them. The caller holds d.mu.
func (d *spanData) set(fields []slog.Attr) {
	hasErr := false
outer:
	for _, a := range fields {
		if isErrorKey(a.Key) {
			hasErr = true
		}
		for i := range d.own {
			if d.own[i].Key == a.Key {
				d.own[i].Value = a.Value
				continue outer
			}
		}
		d.own = append(d.own, a)
	}
	if hasErr {
		d.hasErr.Store(true)
	}
	// Bumped after the change and before the unlock: a reader that sees the new version
	// and then takes the lock sees the new fields.
	d.version.Add(1)
}

// OnNewSpan stores the span's own fields and links it to its nearest stored ancestor.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	d := slot.Get(span.Record())
	if d == nil {
		return // a record made before the slot existed; cannot happen after init
	}
	// The nearest ancestor storage saw: a parent filtered out of storage is skipped.
	for p := span.Parent(); !p.IsZero(); p = p.Parent() {
		if pd := slot.Get(p.Record()); pd != nil && pd.stored.Load() {
			d.parent = pd
			d.depth = pd.depth + 1
			break
		}
	}
	d.mu.Lock()
	d.set(fields)
	d.mu.Unlock()
	d.stored.Store(true)
}

// OnRecord adds fields to the span or updates the values of fields it has.
func (l *Layer) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	d := dataOf(span)
	if d == nil || len(fields) == 0 {
		return
	}
	d.mu.Lock()
	d.set(fields)
	d.mu.Unlock()
}

// OnEvent keeps the error fields of an event logged inside a span on that span.
func (l *Layer) OnEvent(ev *subscriber.Event) {
	if ev.Span.IsZero() {
		return
	}
	n := 0
	for _, a := range ev.Attrs {
		if isErrorKey(a.Key) {
			n++
		}
	}
	if n == 0 {
		return
	}
	d := dataOf(ev.Span)
	if d == nil {
		return
	}
	d.mu.Lock()
	for i := range ev.Attrs {
		if isErrorKey(ev.Attrs[i].Key) {
			d.set(ev.Attrs[i : i+1])
		}
	}
	d.mu.Unlock()
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

// OnClose records the span's latency and busy time.
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
	busy := min(d.busy, latency)
	d.mu.Unlock()
	d.latencyNs.Store(int64(latency))
	d.busyNs.Store(int64(busy))
	d.closed.Store(true)
}
