package metrics

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// The memo resolves a span's series at its start without hashing its strings' bytes:
// it maps the span name and the metric_name and metric_label_* start fields (in the
// order given) to the span's series pair, hashed by the addresses and lengths of the
// strings and the bits of the numbers. A call site passing string constants (or strings
// it keeps) passes the same addresses every time, so its spans find their series with a
// few multiplications and short comparisons, without building and hashing the identity
// bytes. Strings built per call miss the memo and take the identity path; each series
// pair takes at most maxMemos memo entries, so they cannot grow it.
//
// A hit is checked by value. An entry keeps the span name and field keys it was made
// from (constants in practice), so their memory is never reused for other bytes and ==
// on them is a pointer comparison. Label values are compared against the entry's own
// copies: zero-copy servers make them over buffers they reuse (unsafe.String over a
// pooled []byte), whose address can come back with other bytes, and such a value must
// not be mistaken for the old one.

// maxMemos bounds the memo entries of one series pair: its call sites, plus the first
// sightings of values built per call, which never hit again.
const maxMemos = 8

// maxMemoFields is the most metric fields (metric_name and labels) a memoized span may
// have.
const maxMemoFields = 6

// memoField is what the memo compares of one metric field.
type memoField struct {
	key  string
	str  string // a string value
	bits uint64 // a number's bits
	kind slog.Kind
}

// memoProbe is a span's memo key, read once from its start fields by OnNewSpan.
type memoProbe struct {
	h        uint64
	n        int
	spanName string
	fields   [maxMemoFields]memoField
}

// add adds a metric field, or reports false when the span cannot be memoized: too many
// fields, or a value of a kind left to the identity path (times, groups, any).
func (p *memoProbe) add(a *slog.Attr) bool {
	if p.n == maxMemoFields {
		return false
	}
	f := &p.fields[p.n]
	p.n++
	f.key, f.kind = a.Key, a.Value.Kind()
	var w uint64
	if f.kind == slog.KindString {
		f.str = a.Value.String()
		w = addrWord(f.str)
	} else {
		var ok bool
		if f.bits, ok = numberBits(a.Value, f.kind); !ok {
			return false
		}
		w = f.bits ^ uint64(f.kind)<<59
	}
	p.h = (p.h ^ addrWord(f.key) ^ (w<<17 | w>>47)) * memoMul
	return true
}

// finish adds the span name and mixes the hash's bits: shards take the top bits and
// slots the bottom ones.
func (p *memoProbe) finish(spanName string) {
	p.spanName = spanName
	h := (p.h ^ addrWord(spanName)) * memoMul
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	p.h = h
}

// memoKey is what a memo entry matches.
type memoKey struct {
	spanName string
	fields   []memoField // str: the entry's own copy
	// attrs are the fields as attributes, for spans that need their name and labels
	// after a hit (see spanMetric.materialize).
	attrs []slog.Attr
}

func (k *memoKey) matches(p *memoProbe) bool {
	if len(k.fields) != p.n || k.spanName != p.spanName {
		return false
	}
	for j := range k.fields {
		f, g := &k.fields[j], &p.fields[j]
		if f.key != g.key || f.kind != g.kind || f.bits != g.bits || f.str != g.str {
			return false
		}
	}
	return true
}

// isMetricField reports whether a field names a span's metric or one of its labels.
func isMetricField(key string) bool {
	return key == fieldMetricName || strings.HasPrefix(key, fieldMetricLabel)
}

const memoMul = 0x9e3779b97f4a7c15

// addrWord is a string's word for the memo hash: its address and length, not its bytes.
// The address is only hashed, never dereferenced.
func addrWord(s string) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))<<48
}

// numberBits returns the bits of a value of a kind the memo compares by bits, or false.
func numberBits(v slog.Value, k slog.Kind) (uint64, bool) {
	switch k {
	case slog.KindInt64:
		return uint64(v.Int64()), true
	case slog.KindUint64:
		return v.Uint64(), true
	case slog.KindFloat64:
		return math.Float64bits(v.Float64()), true // -0 and 0 are different label text
	case slog.KindBool:
		if v.Bool() {
			return 1, true
		}
		return 0, true
	case slog.KindDuration:
		return uint64(v.Duration()), true
	}
	return 0, false
}

// memoize records that spans with p's key update ss, unless ss has its share of memo
// entries already. values are the span's metric field values, in p's order.
func (l *Layer) memoize(p *memoProbe, values []slog.Value, ss *spanSeries) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ss.memos.Load() >= maxMemos || l.memo.lookupMemo(p) != nil {
		return
	}
	k := &memoKey{
		spanName: p.spanName,
		fields:   slices.Clone(p.fields[:p.n]),
		attrs:    make([]slog.Attr, p.n),
	}
	for j := range k.fields {
		f := &k.fields[j]
		v := values[j]
		if f.kind == slog.KindString {
			f.str = strings.Clone(f.str)
			v = slog.StringValue(f.str)
		}
		k.attrs[j] = slog.Attr{Key: f.key, Value: v}
	}
	l.memo.insert(&entry{hash: p.h, memo: k, ss: ss})
	ss.memos.Add(1)
}
