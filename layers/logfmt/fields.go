package logfmt

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// A span's stored fields are encoded once and reused by every line of the span: its
// events and its close line. The encoding is redone only when storage.Version says a
// visible field changed (a Record on the span or an ancestor, an error event).

// fieldCache is one encoding of a span's stored fields. Once published it is never
// changed, so concurrent events read it without locks.
type fieldCache struct {
	owner   *Layer // the layer whose options made enc
	version uint64 // storage.Version when enc was made
	enc     []byte // " k=v k=v ..."
	keys    []string
	sigs    []uint64 // keySig of each key
	mask    uint64   // the sigs ORed
	ends    []int    // ends[i]: end of field i in enc; it starts at ends[i-1] (or 0)

	// ids is " span=<id> trace_id=<id>", the end of the span's event lines.
	ids   []byte
	trace registry.TraceID
}

func (fc *fieldCache) reset() {
	fc.owner = nil
	fc.version = 0
	if cap(fc.enc) > maxPooledBuf {
		fc.enc = nil
	}
	fc.enc = fc.enc[:0]
	clear(fc.keys)
	fc.keys = fc.keys[:0]
	fc.sigs = fc.sigs[:0]
	fc.mask = 0
	fc.ends = fc.ends[:0]
	fc.ids = fc.ids[:0]
	fc.trace = registry.TraceID{}
}

// setIDs encodes the span's ids, the end of its event lines.
func (fc *fieldCache) setIDs(l *Layer, span subscriber.SpanRef) {
	fc.trace = span.TraceID()
	fc.ids = l.appendID(fc.ids[:0], kSpan, span.ID())
	fc.ids = l.appendTraceID(fc.ids, fc.trace)
}

func (fc *fieldCache) add(l *Layer, key string, v slog.Value) {
	if l.skipKey(key) {
		return
	}
	fc.enc = appendField(fc.enc, key, v)
	fc.keys = append(fc.keys, key)
	sig := keySig(key)
	fc.sigs = append(fc.sigs, sig)
	fc.mask |= sig
	fc.ends = append(fc.ends, len(fc.enc))
}

// spanCache is the per-span slot value.
type spanCache struct {
	cur   atomic.Pointer[fieldCache] // the published encoding
	spare atomic.Pointer[fieldCache] // the last span's encoding, reused by the next
}

var cacheSlot = registry.NewSlot(func(c *spanCache) {
	// No hook of the span runs any more: nobody reads cur.
	if c.cur.Load() == nil {
		return // the layer never cached this span's fields
	}
	if fc := c.cur.Swap(nil); fc != nil {
		fc.reset()
		c.spare.Store(fc)
	}
})

// transient encodings, for spans this layer cannot cache (another layer instance owns
// the cache, or storage did not see the span).
var transientPool = sync.Pool{New: func() any { return new(fieldCache) }}

var attrPool = sync.Pool{New: func() any { s := make([]slog.Attr, 0, 16); return &s }}

// appendStored appends span's stored fields.
func (l *Layer) appendStored(b []byte, span subscriber.SpanRef) []byte {
	fc, transient := l.spanFields(span)
	b = append(b, fc.enc...)
	if transient {
		putTransient(fc)
	}
	return b
}

func putTransient(fc *fieldCache) {
	fc.reset()
	transientPool.Put(fc)
}

// keySig is a one-bit signature of a key: keys with different signatures differ, so
// most event keys are ruled out as duplicates of stored keys without a comparison.
func keySig(k string) uint64 {
	if k == "" {
		return 1
	}
	return 1 << ((uint(len(k))*7 + uint(k[0]) + uint(k[len(k)-1])*3) & 63)
}

// appendWithout appends fc's fields except those with a key of attrs.
func appendWithout(b []byte, fc *fieldCache, attrs []slog.Attr) []byte {
	var evMask uint64
	for i := range attrs {
		evMask |= keySig(attrs[i].Key)
	}
	if evMask&fc.mask == 0 {
		return append(b, fc.enc...)
	}
	first := -1
	for i, k := range fc.keys {
		if fc.sigs[i]&evMask != 0 && hasKey(attrs, k) {
			first = i
			break
		}
	}
	if first < 0 {
		return append(b, fc.enc...)
	}
	start := 0
	if first > 0 {
		start = fc.ends[first-1]
	}
	b = append(b, fc.enc[:start]...)
	for i := first; i < len(fc.keys); i++ {
		if fc.sigs[i]&evMask == 0 || !hasKey(attrs, fc.keys[i]) {
			b = append(b, fc.enc[start:fc.ends[i]]...)
		}
		start = fc.ends[i]
	}
	return b
}

func hasKey(attrs []slog.Attr, key string) bool {
	for i := range attrs {
		if attrs[i].Key == key {
			return true
		}
	}
	return false
}

// spanFields returns the encoding of span's stored fields for l. When transient is
// true the caller gives fc back to transientPool.
func (l *Layer) spanFields(span subscriber.SpanRef) (fc *fieldCache, transient bool) {
	ver := storage.Version(span)
	var sc *spanCache
	if ver != 0 {
		sc = cacheSlot.Get(span.Record())
	}
	if sc == nil {
		// Storage is not composed or did not see the span: the span's own fields.
		fc = transientPool.Get().(*fieldCache)
		fc.setIDs(l, span)
		ap := attrPool.Get().(*[]slog.Attr)
		attrs := span.Fields((*ap)[:0])
		for _, a := range attrs {
			fc.add(l, a.Key, a.Value)
		}
		clear(attrs)
		*ap = attrs[:0]
		attrPool.Put(ap)
		return fc, true
	}
	cur := sc.cur.Load()
	if cur != nil && cur.owner == l && cur.version == ver {
		return cur, false
	}
	if cur != nil && cur.owner != l {
		// Another logfmt layer in the dispatch owns the cache: encode for this line only.
		fc = transientPool.Get().(*fieldCache)
		l.encodeStored(fc, span)
		return fc, true
	}
	if cur == nil {
		fc = sc.spare.Swap(nil)
	}
	if fc == nil {
		fc = new(fieldCache)
	}
	fc.owner, fc.version = l, ver
	l.encodeStored(fc, span)
	// Publish unless someone published first; this line uses fc either way, and a
	// version that changed meanwhile is caught by the next line.
	sc.cur.CompareAndSwap(cur, fc)
	return fc, false
}

func (l *Layer) encodeStored(fc *fieldCache, span subscriber.SpanRef) {
	fc.setIDs(l, span)
	storage.Range(span, func(key string, v slog.Value) bool {
		fc.add(l, key, v)
		return true
	})
}
