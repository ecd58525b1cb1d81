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

// Parent returns span's nearest stored ancestor: its parent, or, when a filter kept the
// parent away from storage, the nearest ancestor storage saw. It is the zero SpanRef for
// a root and for a span storage did not see. Its fields are the ones [Range] yields
// after span's own; it stays valid for as long as span does.
func Parent(span subscriber.SpanRef) subscriber.SpanRef {
	d := dataOf(span)
	if d == nil || d.parent == nil {
		return subscriber.SpanRef{}
	}
	return d.parent.self
}

// OwnFields appends span's own fields, as [Range] yields them before the inherited ones,
// to dst and returns it: the fields given at start and recorded since (the subscriber's,
// each key once, with its newest value), then the error fields kept from events that the
// span does not have otherwise. With [Parent] it lets a layer build a span's view from
// its parent's, one level at a time.
func OwnFields(span subscriber.SpanRef, dst []slog.Attr) []slog.Attr {
	d := dataOf(span)
	if d == nil {
		return dst
	}
	return d.appendOwn(dst)
}

// appendOwn appends d's own fields to dst.
func (d *spanData) appendOwn(dst []slog.Attr) []slog.Attr {
	start := len(dst)
	dst = d.self.Fields(dst)
	dst = dst[:start+len(dedupOwn(dst[start:]))]
	if d.nextra.Load() != 0 {
		d.mu.Lock()
		for _, e := range *d.extra {
			if i := indexKey(dst[start:], e.Key); i >= 0 {
				dst[start+i].Value = e.Value
			} else {
				dst = append(dst, e)
			}
		}
		d.mu.Unlock()
	}
	return dst
}

// Lookup returns the value of key visible to span: its own field, or else the field of
// the nearest ancestor that has it.
func Lookup(span subscriber.SpanRef, key string) (slog.Value, bool) {
	for d := dataOf(span); d != nil; d = d.parent {
		if d.nextra.Load() != 0 {
			d.mu.Lock()
			if i := indexKey(*d.extra, key); i >= 0 {
				v := (*d.extra)[i].Value
				d.mu.Unlock()
				return v, true
			}
			d.mu.Unlock()
		}
		if v, ok := d.self.Field(key); ok {
			return v, true
		}
	}
	return slog.Value{}, false
}

// rangeScratch is what Range works in: one level's fields at a time, and the keys
// yielded so far.
type rangeScratch struct {
	attrs []slog.Attr
	seen  keySet
}

// scratchPool holds Range's scratch, so that it allocates nothing in steady state and
// calls fn without holding any lock.
var scratchPool = sync.Pool{New: func() any { return &rangeScratch{attrs: make([]slog.Attr, 0, 16)} }}

// Range calls fn for every field visible to span, each key once, until fn returns
// false. The order is stable, nearest first: the span's own fields in the order they were
// first set, then its parent's, and so on up to the root, as the logfmt lines of the
// design show them (subject=vendor.lastfm http.route=/songs). A key appears once, at its
// nearest position, with its nearest value. fn may call the other read functions; no
// lock is held while it runs.
//
// Range reads one level at a time and remembers the keys it yielded in a set, so its
// cost is linear in the fields it visits, and its scratch space in the largest level
// and the number of keys yielded.
func Range(span subscriber.SpanRef, fn func(key string, v slog.Value) bool) {
	d := dataOf(span)
	if d == nil {
		return
	}
	sc := scratchPool.Get().(*rangeScratch)
	defer func() {
		clear(sc.attrs)
		sc.seen.reset()
		if cap(sc.attrs) > 4*maxKeptCap {
			sc.attrs = make([]slog.Attr, 0, 16)
		}
		scratchPool.Put(sc)
	}()
	for lvl := d; lvl != nil; lvl = lvl.parent {
		sc.attrs = lvl.appendOwn(sc.attrs[:0])
		for _, a := range sc.attrs {
			if lvl != d && sc.seen.has(a.Key) {
				continue // a nearer level has the key
			}
			if lvl.parent != nil {
				sc.seen.add(a.Key) // levels are unique within: only farther levels ask
			}
			if !fn(a.Key, a.Value) {
				return
			}
		}
	}
}

// HasError reports whether span ended with [subscriber.Span.EndErr], or holds an error
// field (error, error.message, error.type, error_msg, error_stack, error_type) of its
// own whose value names an error ([subscriber.IsErrorValue]): given at start, recorded,
// or from an event logged inside it. Ancestors' error fields do not count.
func HasError(span subscriber.SpanRef) bool {
	d := dataOf(span)
	if d == nil {
		return false
	}
	return d.flags.Load()&flagErr != 0 || span.Failed()
}

// Latency returns how long span lasted, exactly (monotonic clock). It is final from the
// storage layer's OnClose on (from the span's end, in fact), so layers composed after
// storage read the final value in their OnClose; while the span is open it is the time
// so far.
func Latency(span subscriber.SpanRef) time.Duration {
	if dataOf(span) == nil {
		return 0
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
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.busy
	if d.flags.Load()&flagClosed == 0 && d.entered > 0 {
		b += span.Duration() - d.enteredAt
	}
	return b
}

// Version returns a number that changes whenever a field visible to span changes: one
// of its own, or one of an ancestor's. Layers that format the fields once and reuse the
// result (logfmt does, for every line of the span) compare versions to know when to
// format again. It is 0 for a span storage did not see, and costs the same at any
// depth. It may also change when no visible field did: after a change to another span
// of the same in-process tree that had live descendants (see the package doc).
func Version(span subscriber.SpanRef) uint64 {
	d := dataOf(span)
	if d == nil {
		return 0
	}
	// Both counters only grow while the span lives, so the sum changes exactly when one
	// of them does.
	return d.version.Load() + d.root.epoch.Load()
}
