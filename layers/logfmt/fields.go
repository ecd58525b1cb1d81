package logfmt

import (
	"bytes"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// A span's stored fields are encoded once and reused by every line of the span: its
// events and its close line. The encoding is redone only when storage.Version says a
// visible field changed (a Record on the span or an ancestor, an error event).
//
// A span's encoding is its own fields, encoded, linked to the encoding of its nearest
// stored ancestor for the rest: its view is a chain of segments, each holding the keys
// no nearer segment holds. A child whose keys (as written) appear nowhere in its
// parent's view links to it as it is, without a copy; a child that overrides some keys
// copies the segments up to the farthest one holding an overridden key, without those
// keys, and links to the rest. A level with no fields of its own is never a segment. So
// writing a line appends each segment once (linear in the fields written, at any depth),
// starting a child costs its own fields plus one check per segment of its parent's view,
// and a chain that repeats the same keys at every level stays one short segment deep.
// The parent's encoding stays valid while the child lives: the child keeps its parent's
// record alive, and a published encoding is never changed.

// fieldCache is one encoding of a span's view. Once published it is never changed, so
// concurrent lines read it without locks.
type fieldCache struct {
	version uint64 // storage.Version when it was made

	// buf holds " span=<id> trace_id=<id>" (buf[:idsEnd], the end of the span's event
	// lines), then the own segment: " k=v k=v ...".
	buf    []byte
	cfg    uint32 // the encoding options (Layer.cfg) that made it
	idsEnd int32
	n      int32 // fields in the own segment
	// claimed is used by a spanCache's inline encoding only: it is taken.
	claimed atomic.Bool
	// m1 and m2 are a two-bit Bloom filter of the own segment's keys as written (see
	// keyHash); v1 and v2 are those of the whole view.
	m1, m2 uint64
	v1, v2 uint64
	// next is the view of an ancestor holding the rest of the fields: a segment with at
	// least one field, or nil.
	next *fieldCache
}

func (fc *fieldCache) seg() []byte { return fc.buf[fc.idsEnd:] }

func (fc *fieldCache) ids() []byte { return fc.buf[:fc.idsEnd] }

// empty reports whether the view holds no field.
func (fc *fieldCache) empty() bool { return fc.n == 0 && fc.next == nil }

// maxKeptEnc bounds the encoding buffer a pooled record keeps for its next span.
const maxKeptEnc = 512

func (fc *fieldCache) reset() {
	fc.cfg = 0
	fc.version = 0
	if cap(fc.buf) > maxKeptEnc {
		fc.buf = nil
	}
	fc.buf = fc.buf[:0]
	fc.idsEnd, fc.n = 0, 0
	fc.m1, fc.m2, fc.v1, fc.v2 = 0, 0, 0, 0
	fc.next = nil
}

// spanCache is the per-span slot value. Its first encoding lives in it (inline), so an
// open span holds the slot value and one byte buffer; a span whose visible fields change
// allocates its later encodings.
type spanCache struct {
	cur    atomic.Pointer[fieldCache] // the published encoding
	inline fieldCache
}

var cacheSlot = registry.NewSlot(func(c *spanCache) {
	// No hook of the span or of its descendants runs any more: nobody reads cur, and no
	// encoding links to inline.
	if !c.inline.claimed.Load() {
		return // the layer never cached this span's fields
	}
	c.cur.Store(nil)
	c.inline.reset()
	c.inline.claimed.Store(false)
})

// transient encodings, for spans this layer cannot cache (another layer with other
// options owns the cache, or storage did not see the span).
var transientPool = sync.Pool{New: func() any { return new(fieldCache) }}

func putTransient(fc *fieldCache) {
	fc.reset()
	transientPool.Put(fc)
}

// buildScratch is what encoding a span's view works in.
type buildScratch struct {
	b     []byte
	attrs []slog.Attr
	keys  keySet
}

var buildPool = sync.Pool{New: func() any { return new(buildScratch) }}

func (s *buildScratch) put() {
	if cap(s.b) > maxPooledBuf {
		s.b = nil
	}
	clear(s.attrs)
	if cap(s.attrs) > 256 {
		s.attrs = nil
	}
	s.attrs = s.attrs[:0]
	s.keys.release()
	buildPool.Put(s)
}

// spanFields returns the encoding of span's stored fields for l. When transient is
// true the caller gives fc back with putTransient.
//
// keep says whether to cache the encoding with the span: events and children (which
// link to their parent's view) keep it, since they may come many times; a span's own
// new_span and close_span lines do not, so that an open span without events or children
// (most spans, most of the time) holds no encoding at all. Its two lines then encode its
// own fields twice, linking to the parent's kept view for the rest.
func (l *Layer) spanFields(span subscriber.SpanRef, keep bool) (fc *fieldCache, transient bool) {
	ver := storage.Version(span)
	if ver == 0 {
		// Storage is not composed or did not see the span: the span's own fields.
		fc = transientPool.Get().(*fieldCache)
		l.encodeFlat(fc, span, false)
		return fc, true
	}
	var sc *spanCache
	if keep {
		sc = cacheSlot.Get(span.Record())
	} else {
		sc = cacheSlot.Peek(span.Record())
	}
	var cur *fieldCache
	if sc != nil {
		cur = sc.cur.Load()
	}
	if cur != nil && cur.version == ver && cur.cfg == l.cfg {
		return cur, false
	}
	if cur != nil && cur.cfg != l.cfg {
		// Another logfmt layer with other options owns the cache: encode for this line.
		fc = transientPool.Get().(*fieldCache)
		l.encodeFlat(fc, span, true)
		return fc, true
	}
	if sc == nil || cur == nil && !keep {
		// For the span's own line, which writes the ids itself: no ids encoded.
		fc = transientPool.Get().(*fieldCache)
		fc.cfg, fc.version = l.cfg, ver
		l.encodeView(fc, span, false)
		return fc, true
	}
	if cur == nil && sc.inline.claimed.CompareAndSwap(false, true) {
		fc = &sc.inline
	} else {
		fc = new(fieldCache)
	}
	fc.cfg, fc.version = l.cfg, ver
	l.encodeView(fc, span, true)
	// Publish unless someone published first; this line uses fc either way, and a
	// version that changed meanwhile is caught by the next line.
	sc.cur.CompareAndSwap(cur, fc)
	return fc, false
}

// encodeFlat encodes span's fields into fc as one segment: all visible fields (through
// storage.Range) when stored, else the span's own.
func (l *Layer) encodeFlat(fc *fieldCache, span subscriber.SpanRef, stored bool) {
	s := buildPool.Get().(*buildScratch)
	defer s.put()
	b := l.appendIDs(fc.buf[:0], span)
	fc.idsEnd = int32(len(b))
	if stored {
		storage.Range(span, func(key string, v slog.Value) bool {
			if !l.skipKey(key) {
				b = appendFieldOnce(b, &s.keys, key, v)
			}
			return true
		})
	} else {
		s.attrs = span.Fields(s.attrs[:0])
		for _, a := range s.attrs {
			if !l.skipKey(a.Key) {
				b = appendFieldOnce(b, &s.keys, a.Key, a.Value)
			}
		}
	}
	fc.buf = b
	fc.n = int32(s.keys.len())
	fc.m1, fc.m2 = s.keys.m1, s.keys.m2
	fc.v1, fc.v2 = fc.m1, fc.m2
	fc.next = nil
}

// encodeView encodes span's own fields into fc and links or merges its parent's view.
func (l *Layer) encodeView(fc *fieldCache, span subscriber.SpanRef, ids bool) {
	// The parent's view first, before taking scratch space: after a change high in a
	// deep chain every level is encoded again, and this recursion must not hold a
	// scratch buffer per level.
	var pv *fieldCache
	pvTransient := false
	if parent := storage.Parent(span); !parent.IsZero() {
		pv, pvTransient = l.spanFields(parent, true)
	}
	s := buildPool.Get().(*buildScratch)
	defer s.put()
	b := s.b[:0]
	if ids {
		b = l.appendIDs(b, span)
	}
	idsEnd := len(b)
	s.attrs = storage.OwnFields(span, s.attrs[:0])
	for _, a := range s.attrs {
		if !l.skipKey(a.Key) {
			b = appendFieldOnce(b, &s.keys, a.Key, a.Value)
		}
	}
	own := &s.keys
	m1, m2, n := own.m1, own.m2, int32(own.len())
	var next *fieldCache
	switch {
	case pv == nil:
	case pvTransient:
		// Not ours to link to: copy it, without the keys the span has.
		b, m1, m2, n = appendSegmentWithout(b, pv, own, m1, m2, n)
		putTransient(pv)
	default:
		first := pv
		if first.n == 0 {
			first = first.next // a level without fields of its own is no segment
		}
		// The farthest segment that holds one of the span's own keys: the segments up
		// to it are copied without those keys, the rest is linked.
		var last *fieldCache
		if n > 0 && first != nil && own.m1&first.v1 != 0 && own.m2&first.v2 != 0 {
			for seg := first; seg != nil; seg = seg.next {
				if own.mayHold(seg) && segmentHolds(seg, own, b) {
					last = seg
				}
			}
		}
		if last != nil {
			for seg := first; ; seg = seg.next {
				b, m1, m2, n = appendSegmentWithout(b, seg, own, m1, m2, n)
				if seg == last {
					break
				}
			}
			first = last.next
		}
		next = first
	}
	s.b = b
	// One allocation of the size needed, or none when the record's buffer from its
	// previous span is large enough.
	fc.buf = append(fc.buf[:0], b...)
	fc.idsEnd = int32(idsEnd)
	fc.n = n
	fc.m1, fc.m2 = m1, m2
	fc.next = next
	fc.v1, fc.v2 = m1, m2
	if next != nil {
		fc.v1 |= next.v1
		fc.v2 |= next.v2
	}
}

// appendIDs appends " span=<id> trace_id=<id>", the end of span's event lines.
func (l *Layer) appendIDs(b []byte, span subscriber.SpanRef) []byte {
	b = l.appendID(b, kSpan, span.ID())
	return l.appendTraceID(b, span.TraceID())
}

// appendView appends the fields of fc's view.
func appendView(b []byte, fc *fieldCache) []byte {
	b = append(b, fc.seg()...)
	for seg := fc.next; seg != nil; seg = seg.next {
		b = append(b, seg.seg()...)
	}
	return b
}

// appendViewWithout appends the fields of fc's view except those whose key (as written)
// is in keys, which are keys written in b.
func appendViewWithout(b []byte, fc *fieldCache, keys *keySet) []byte {
	if keys.m1&fc.v1 == 0 || keys.m2&fc.v2 == 0 {
		return appendView(b, fc) // no key of the view is a candidate
	}
	for seg := fc; seg != nil; seg = seg.next {
		if !keys.mayHold(seg) {
			b = append(b, seg.seg()...)
			continue
		}
		b, _, _, _ = appendSegmentWithout(b, seg, keys, 0, 0, 0)
	}
	return b
}

// nextField returns the end of the key (the '=') and the end of the field that starts
// at seg[i], a space. Keys as written hold no '=' and no space, bare values no space,
// and quoted values escape their quotes.
func nextField(seg []byte, i int) (eq, end int) {
	eq = i + 1 + bytes.IndexByte(seg[i+1:], '=')
	j := eq + 1
	if j < len(seg) && seg[j] == '"' {
		j++
		for {
			q := bytes.IndexByte(seg[j:], '"')
			if q < 0 {
				return eq, len(seg) // cannot happen: the encoder closes its quotes
			}
			j += q
			bs := 0
			for k := j - 1; k > eq && seg[k] == '\\'; k-- {
				bs++
			}
			j++
			if bs%2 == 0 {
				return eq, j
			}
		}
	}
	if k := bytes.IndexByte(seg[j:], ' '); k >= 0 {
		return eq, j + k
	}
	return eq, len(seg)
}

// segmentHolds reports whether one of seg's own keys is in keys (written in kb).
func segmentHolds(seg *fieldCache, keys *keySet, kb []byte) bool {
	s := seg.seg()
	for i := 0; i < len(s); {
		eq, end := nextField(s, i)
		if keys.has(kb, s[i+1:eq]) {
			return true
		}
		i = end
	}
	return false
}

// appendSegmentWithout appends the fields of seg's own segment whose key is not in
// keys (written in b), and returns b with the Bloom bits and count of the fields
// appended added to m1, m2 and n.
func appendSegmentWithout(b []byte, seg *fieldCache, keys *keySet, m1, m2 uint64, n int32) ([]byte, uint64, uint64, int32) {
	s := seg.seg()
	run := 0 // start of the run of kept fields not yet appended
	for i := 0; i < len(s); {
		eq, end := nextField(s, i)
		h := keyHash(s[i+1 : eq])
		if keys.hasHash(b, s[i+1:eq], h) {
			b = append(b, s[run:i]...)
			run = end
		} else {
			m1 |= bit1(h)
			m2 |= bit2(h)
			n++
		}
		i = end
	}
	return append(b, s[run:]...), m1, m2, n
}

// The keys of a line are compared as written, after they were made valid, so that
// "a b" and "a_b", or "level" (written fields.level) and "fields.level", are the same
// key. A key's hash gives two bits of a 64-bit Bloom filter; a set of keys and every
// segment of a span's view carry one, so that most checks are two ANDs.

// hashSeed varies the hash per process, so that keys cannot be chosen to collide.
var hashSeed = rand.Uint64() | 1

// keyHash hashes a key as written, for the Bloom bits and the small sets: its length
// and its first and last 8 bytes (all of a key of up to 16 bytes), with two loads and
// one multiply, whose top bits depend on every bit loaded. Keys that differ only in the
// middle of a long key collide here; an exact comparison follows every hit, and large
// sets index keys by a full hash (fullHash). It takes the key as a string too: a key
// written as given is hashed from the caller's string, as loading the bytes just
// appended to a line would stall on the stores that wrote them.
func keyHash[K string | []byte](k K) uint64 {
	var a, z uint64
	switch n := len(k); {
	case n >= 8:
		a, z = le64(k, 0), le64(k, n-8)
	case n >= 4:
		a, z = le32(k, 0), le32(k, n-4)
	case n > 0:
		a = uint64(k[0]) | uint64(k[n/2])<<8 | uint64(k[n-1])<<16
	}
	return (a ^ bits.RotateLeft64(z, 29) ^ uint64(len(k))<<52 ^ hashSeed) * 0x9e3779b97f4a7c15
}

// le64 and le32 load 8 and 4 bytes little-endian (the compiler makes them one load).
func le64[K string | []byte](k K, i int) uint64 {
	_ = k[i+7]
	return uint64(k[i]) | uint64(k[i+1])<<8 | uint64(k[i+2])<<16 | uint64(k[i+3])<<24 |
		uint64(k[i+4])<<32 | uint64(k[i+5])<<40 | uint64(k[i+6])<<48 | uint64(k[i+7])<<56
}

func le32[K string | []byte](k K, i int) uint64 {
	_ = k[i+3]
	return uint64(k[i]) | uint64(k[i+1])<<8 | uint64(k[i+2])<<16 | uint64(k[i+3])<<24
}

var fullSeed = maphash.MakeSeed()

// fullHash hashes every byte of a key: the index of a large set.
func fullHash(k []byte) uint64 { return maphash.Bytes(fullSeed, k) }

// bit1 and bit2 take the top bits of a keyHash, the best mixed.
func bit1(h uint64) uint64 { return 1 << (h >> 58) }

func bit2(h uint64) uint64 { return 1 << (h >> 52 & 63) }

// keyEnt is a key of a keySet: its hash and where it is written in the line or buffer
// the set describes.
type keyEnt struct {
	h      uint64
	ks, ke int32
}

// smallSet is how many keys a keySet holds inline, scanned after the Bloom check,
// before it moves them to a hash index.
const smallSet = 8

// keySet is a set of keys written in one buffer, with O(1) operations at any size. A
// keySet on the stack holds up to smallSet keys without allocating.
type keySet struct {
	m1, m2 uint64
	n      int
	small  [smallSet]keyEnt
	big    *bigSet
}

// bigSet holds the keys of a set that outgrew its inline array.
type bigSet struct {
	ents []keyEnt
	idx  map[uint64]int32 // fullHash -> 1 + the index of the first entry with it
}

func (b *bigSet) add(buf []byte, e keyEnt) {
	if f := fullHash(buf[e.ks:e.ke]); b.idx[f] == 0 {
		b.idx[f] = int32(len(b.ents)) + 1 // 0: no entry
	}
	b.ents = append(b.ents, e)
}

var bigPool = sync.Pool{New: func() any { return &bigSet{idx: make(map[uint64]int32)} }}

func (s *keySet) len() int { return s.n }

func (s *keySet) ent(i int) *keyEnt {
	if s.big != nil {
		return &s.big.ents[i]
	}
	return &s.small[i]
}

// mayHold reports whether some key of the set may be among seg's own keys: whether
// both Bloom bits of one of its keys are set in seg's filter. A set of more than 64
// keys fills the filter anyway: it answers yes.
func (s *keySet) mayHold(seg *fieldCache) bool {
	if s.m1&seg.m1 == 0 {
		return false
	}
	if s.n > 64 {
		return true
	}
	for i := range s.n {
		h := s.ent(i).h
		if seg.m1&bit1(h) != 0 && seg.m2&bit2(h) != 0 {
			return true
		}
	}
	return false
}

// has reports whether key is in the set, whose keys are written in buf.
func (s *keySet) has(buf, key []byte) bool {
	if s.n == 0 {
		return false
	}
	return s.hasHash(buf, key, keyHash(key))
}

func (s *keySet) hasHash(buf, key []byte, h uint64) bool {
	if s.m1&bit1(h) == 0 || s.m2&bit2(h) == 0 {
		return false
	}
	if s.big != nil {
		i := s.big.idx[fullHash(key)]
		if i == 0 {
			return false
		}
		if e := &s.big.ents[i-1]; bytes.Equal(buf[e.ks:e.ke], key) {
			return true
		}
		// Two keys with one full hash: look at them all (this does not happen in
		// practice).
	}
	for i := range s.n {
		e := s.ent(i)
		if e.h == h && bytes.Equal(buf[e.ks:e.ke], key) {
			return true
		}
	}
	return false
}

// add adds the key written at buf[ks:ke], with hash h.
func (s *keySet) add(buf []byte, h uint64, ks, ke int) {
	s.m1 |= bit1(h)
	s.m2 |= bit2(h)
	e := keyEnt{h: h, ks: int32(ks), ke: int32(ke)}
	if s.n < smallSet && s.big == nil {
		s.small[s.n] = e
		s.n++
		return
	}
	if s.big == nil {
		s.big = bigPool.Get().(*bigSet)
		for i := range s.n {
			s.big.add(buf, s.small[i])
		}
	}
	s.big.add(buf, e)
	s.n++
}

// release empties the set and gives back what it borrowed.
func (s *keySet) release() {
	if s.big != nil {
		if len(s.big.ents) <= 4096 {
			s.big.ents = s.big.ents[:0]
			clear(s.big.idx)
			bigPool.Put(s.big)
		}
		s.big = nil
	}
	s.m1, s.m2, s.n = 0, 0, 0
}
