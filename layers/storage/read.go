package storage

import (
	"log/slog"
	"sync"
	"time"

	"github.com/strata-go/strata/subscriber"
)

// The read API. Every function takes the SpanRef a hook was given and is safe to call
// from any layer's hook, concurrently with the span's other hooks. For a span storage
// did not see (see [Stored]) or the zero SpanRef, they return zero values.

// Stored reports whether the storage layer saw span start: false for the zero SpanRef,
// for spans a filter kept away from storage, and when storage is not composed.
func Stored(span subscriber.SpanRef) bool { return dataOf(span) != nil }

// Lookup returns the value of key visible to span: its own field, or else the field of
// the nearest ancestor that has it.
func Lookup(span subscriber.SpanRef, key string) (slog.Value, bool) {
	for d := dataOf(span); d != nil; d = d.parent {
		d.mu.Lock()
		for i := range d.own {
			if d.own[i].Key == key {
				v := d.own[i].Value
				d.mu.Unlock()
				return v, true
			}
		}
		d.mu.Unlock()
	}
	return slog.Value{}, false
}

// scratchPool holds the buffers Range gathers fields into, so that it allocates
// nothing in steady state and calls fn without holding any lock.
var scratchPool = sync.Pool{New: func() any { s := make([]slog.Attr, 0, 16); return &s }}

// Range calls fn for every field visible to span, each key once, until fn returns
// false. The order is stable, nearest first: the span's own fields in the order they were
// first set, then its parent's, and so on up to the root, as the logfmt lines of the
// design show them (subject=vendor.lastfm http.route=/songs). A key appears once, at its
// nearest position, with its nearest value. fn may call the other read functions; no
// lock is held while it runs.
func Range(span subscriber.SpanRef, fn func(key string, v slog.Value) bool) {
	d := dataOf(span)
	if d == nil {
		return
	}
	bp := scratchPool.Get().(*[]slog.Attr)
	s := gather((*bp)[:0], d)
	defer func() {
		clear(s)
		if cap(s) <= 4*maxKeptCap {
			*bp = s[:0]
			scratchPool.Put(bp)
		}
	}()
	if d.parent == nil {
		// One level: keys are unique already.
		for _, a := range s {
			if !fn(a.Key, a.Value) {
				return
			}
		}
		return
	}
	// Nearer generations come first, so a key's first occurrence holds its nearest value.
	for i, a := range s {
		if seen(s[:i], a.Key) {
			continue
		}
		if !fn(a.Key, a.Value) {
			return
		}
	}
}

func seen(s []slog.Attr, key string) bool {
	for i := range s {
		if s[i].Key == key {
			return true
		}
	}
	return false
}

// gather appends d's own fields, then its parent's, and so on up to the root.
func gather(dst []slog.Attr, d *spanData) []slog.Attr {
	for ; d != nil; d = d.parent {
		d.mu.Lock()
		dst = append(dst, d.own...)
		d.mu.Unlock()
	}
	return dst
}

// HasError reports whether span ended with [subscriber.Span.EndErr], or holds an error
// field (error, error.message, error.type, error_msg, error_stack, error_type) of its
// own: given at start, recorded, or from an event logged inside it. Ancestors' error
// fields do not count.
func HasError(span subscriber.SpanRef) bool {
	d := dataOf(span)
	if d == nil {
		return false
	}
	return d.hasErr.Load() || span.Failed()
}

// Latency returns how long span lasted, exactly (monotonic clock). It is final from the
// storage layer's OnClose on, so layers composed after storage read the final value in
// their OnClose; while the span is open it is the time so far.
func Latency(span subscriber.SpanRef) time.Duration {
	d := dataOf(span)
	if d == nil {
		return 0
	}
	if d.closed.Load() {
		return time.Duration(d.latencyNs.Load())
	}
	return span.Duration()
}

// LatencyMillis returns [Latency] in whole milliseconds: the latency_ms of the article's
// close lines.
func LatencyMillis(span subscriber.SpanRef) int64 { return Latency(span).Milliseconds() }

// Busy returns the time span was entered: the sum of the intervals between an enter and
// the matching exit (Start enters, End exits). A span never exited before End is busy
// for its whole latency. It is final from the storage layer's OnClose on; while the
// span is open it is the time so far.
func Busy(span subscriber.SpanRef) time.Duration {
	d := dataOf(span)
	if d == nil {
		return 0
	}
	if d.closed.Load() {
		return time.Duration(d.busyNs.Load())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.busy
	if d.entered > 0 {
		b += span.Duration() - d.enteredAt
	}
	return b
}

// Version returns a number that changes whenever a field visible to span changes: one
// of its own, or one of an ancestor's. Layers that format the fields once and reuse the
// result (logfmt does, for every event in the span) compare versions to know when to
// format again. It is 0 for a span storage did not see, and walks the ancestor chain.
func Version(span subscriber.SpanRef) uint64 {
	var v uint64
	// Each counter only grows while the span lives, so the sum changes exactly when
	// one of them does.
	for d := dataOf(span); d != nil; d = d.parent {
		v += d.version.Load()
	}
	return v
}
