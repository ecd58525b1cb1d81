package logfmt

import (
	"encoding"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/strata-go/strata/subscriber"
)

// The encoder. Every key and value it writes decodes with go-logfmt's decoder:
//
//   - a key is written as is when every byte is printable ASCII other than '=' and '"';
//     otherwise each space, control character, '=', '"', invalid UTF-8 byte, U+FFFD and
//     non-printable rune becomes '_'. An empty key becomes "_". A key equal to one of
//     the layer's own keys (level, msg, span, ...) gets the prefix "fields.", as
//     logrus does, so that a field never takes the place of one of the layer's keys.
//   - a line never holds a key twice. Fields are compared by their keys as written, so
//     "a b" and "a_b", or "level" (written fields.level) and "fields.level", are one
//     key, and the first occurrence on the line wins; later ones are left out, value
//     and all (a suffix could collide with yet another key). The order is the line's:
//     an event's fields in the order given, then the span's own fields, then its
//     parent's, up to the root. So an event field hides a stored field, a span's field
//     hides its ancestors', and of two fields of one event, or two keys of one span,
//     written alike the first is kept (a key set twice on a span keeps its newest
//     value: storage's rule). The layer's own keys never collide with a field's. The
//     check is a hash per key written and a few ANDs against two-bit Bloom filters
//     (fields.go); a set of keys is built only when a filter says a key may repeat, and
//     a map only for a line with many keys.
//   - a value is written bare when it is non-empty and holds no space, control
//     character, '=', '"', DEL, invalid UTF-8 or non-printable rune; otherwise it is
//     quoted, with \" \\ \n \r \t and \u00XX escapes, and each invalid UTF-8 byte
//     written as \ufffd. Valid UTF-8 therefore decodes to exactly the bytes given;
//     invalid bytes decode to U+FFFD, one per byte.

// bare[c] is true for the ASCII bytes that keys and unquoted values may hold as they
// are: printable, not space, '=' or '"'. plain[c] is true for the bytes a quoted value
// holds without an escape.
var bare, plain [256]bool

// simple[c] is bare[c] && plain[c]: the bytes a value may hold bare or quoted alike.
var simple [256]bool

func init() {
	for c := '!'; c <= '~'; c++ {
		bare[c] = c != '=' && c != '"'
	}
	for c := ' '; c <= '~'; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	for c := range simple {
		simple[c] = bare[c] && plain[c]
	}
}

// reservedPrefix is put before a user key that collides with one of the layer's keys.
const reservedPrefix = "fields."

// isReserved reports whether key is one of the keys the layer writes itself.
func isReserved(key string) bool {
	// Most keys are ruled out by their length or first byte, before the switch.
	if len(key) < 3 || len(key) > 11 {
		return false
	}
	switch key[0] {
	case 'l', 'm', 's', 'p', 't':
	case 'd':
		return isDatadogKey(key) // the keys of WithDatadog
	default:
		return false
	}
	switch key {
	case "level", "msg", "span_name", "span", "parent_span", "span_event",
		"timestamp", "trace_id", "latency_ms", "target", "location":
		return true
	}
	return false
}

// keyIsPlain reports whether key can be written without changes.
func keyIsPlain(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !bare[key[i]] {
			return false
		}
	}
	return true
}

// appendKey appends key, made valid.
func appendKey(b []byte, key string) []byte {
	if keyIsPlain(key) {
		if isReserved(key) {
			b = append(b, reservedPrefix...)
		}
		return append(b, key...)
	}
	return appendKeySlow(b, key)
}

func appendKeySlow(b []byte, key string) []byte {
	if key == "" {
		return append(b, '_')
	}
	start := len(b)
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				c = '_'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			b = append(b, '_')
		} else {
			b = append(b, key[i:i+size]...)
		}
		i += size
	}
	if isReserved(string(b[start:])) {
		// Insert the prefix before the sanitized key.
		n := len(b) - start
		b = append(b, reservedPrefix...)
		copy(b[start+len(reservedPrefix):], b[start:start+n])
		copy(b[start:], reservedPrefix)
	}
	return b
}

// needsQuote reports whether s must be quoted to decode as itself.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if bare[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return true
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a value, quoted when it needs to be. It scans s once.
func appendString(b []byte, s string) []byte {
	if s == "" {
		return append(b, '"', '"')
	}
	esc := len(s) // the first byte that needs an escape inside quotes (a backslash)
	for i := 0; i < len(s); {
		c := s[i]
		if simple[c] {
			i++
			continue
		}
		if c == '\\' {
			esc = min(esc, i)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return appendQuotedFrom(b, s, min(i, esc))
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !unicode.IsPrint(r) {
			return appendQuotedFrom(b, s, min(i, esc))
		}
		i += size
	}
	return append(b, s...)
}

// appendQuoted appends s quoted and escaped.
func appendQuoted(b []byte, s string) []byte { return appendQuotedFrom(b, s, 0) }

// appendQuotedFrom appends s quoted and escaped, knowing that s[:i] needs no escape.
func appendQuotedFrom(b []byte, s string, i int) []byte {
	b = append(b, '"')
	start := 0
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendUint appends n in decimal, two digits at a time.
func appendUint(b []byte, n uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 100 {
		q := n / 100
		r := (n - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = digits2[r], digits2[r+1]
		n = q
	}
	if n >= 10 {
		i -= 2
		buf[i], buf[i+1] = digits2[n*2], digits2[n*2+1]
	} else {
		i--
		buf[i] = byte('0' + n)
	}
	return append(b, buf[i:]...)
}

// appendFieldOnce appends " key=value" and adds the key, as written, to keys (a set of
// keys written in b), unless keys holds it already: then it appends nothing, as the
// first occurrence of a key on a line wins. Groups (which the core flattens already)
// are flattened here too, to dotted keys.
func appendFieldOnce(b []byte, keys *keySet, key string, v slog.Value) []byte {
	kind := v.Kind()
	if kind == slog.KindLogValuer {
		v = v.Resolve()
		kind = v.Kind()
	}
	if kind == slog.KindGroup {
		for _, a := range v.Group() {
			k := a.Key
			if key != "" {
				k = key + "." + a.Key
			}
			b = appendFieldOnce(b, keys, k, a.Value)
		}
		return b
	}
	start := len(b)
	b = append(b, ' ')
	ks := len(b)
	var h uint64
	if keyIsPlain(key) && !isReserved(key) {
		b = append(b, key...) // the usual key, written as given
		h = keyHash(key)
	} else {
		b = appendKey(b, key)
		h = keyHash(b[ks:])
	}
	ke := len(b)
	if keys.hasHash(b, b[ks:ke], h) {
		return b[:start] // the first occurrence of a key wins
	}
	keys.add(b, h, ks, ke)
	b = append(b, '=')
	return appendValueKind(b, v, kind)
}

// eventKeys is what an event line knows of its own keys while it writes them: the
// Bloom filter of their hashes, and whether two of them may be one key. An event with
// distinct keys, the usual kind, is checked with a few ANDs and no set.
type eventKeys struct {
	m1, m2   uint64
	maybeDup bool
	// pairs are the (bit1, bit2) of the first keys, so that a stored view can be ruled
	// out key by key (a Bloom filter test per key) rather than by the union of all the
	// event's bits, which five keys make collide with a view far more often.
	pairs [8][2]uint64
	n     int
}

// mayShare reports whether a key of the event may be one of the view's (v1, v2): false
// means surely not.
func (ek *eventKeys) mayShare(v1, v2 uint64) bool {
	if ek.n > len(ek.pairs) {
		return ek.m1&v1 != 0 && ek.m2&v2 != 0
	}
	for _, p := range ek.pairs[:ek.n] {
		if p[0]&v1 != 0 && p[1]&v2 != 0 {
			return true
		}
	}
	return false
}

// appendEventField appends " key=value" and notes the key, as written, in ek. A key
// written before on the line is not checked here: dropRepeatedFields does that, when
// ek says it may be needed.
func appendEventField(b []byte, ek *eventKeys, key string, v slog.Value) []byte {
	kind := v.Kind()
	if kind == slog.KindLogValuer {
		v = v.Resolve()
		kind = v.Kind()
	}
	if kind == slog.KindGroup {
		for _, a := range v.Group() {
			k := a.Key
			if key != "" {
				k = key + "." + a.Key
			}
			b = appendEventField(b, ek, k, a.Value)
		}
		return b
	}
	b = append(b, ' ')
	ks := len(b)
	var h uint64
	if keyIsPlain(key) && !isReserved(key) {
		b = append(b, key...)
		h = keyHash(key)
	} else {
		b = appendKey(b, key)
		h = keyHash(b[ks:])
	}
	b1, b2 := bit1(h), bit2(h)
	if ek.m1&b1 != 0 && ek.m2&b2 != 0 {
		ek.maybeDup = true
	}
	ek.m1 |= b1
	ek.m2 |= b2
	if ek.n < len(ek.pairs) {
		ek.pairs[ek.n] = [2]uint64{b1, b2}
	}
	ek.n++
	b = append(b, '=')
	return appendValueKind(b, v, kind)
}

// dropRepeatedFields removes from b[start:], fields written by appendEventField, every
// field whose key (as written) an earlier one has, in place.
func dropRepeatedFields(b []byte, start int) []byte {
	var keys keySet
	defer keys.release()
	w := start // the fields kept so far end at w; w <= i, so kept keys stay put
	for i := start; i < len(b); {
		eq, end := nextField(b, i)
		if !keys.has(b[:w], b[i+1:eq]) {
			n := copy(b[w:], b[i:end])
			keys.add(b, keyHash(b[w+1:w+1+eq-i-1]), w+1, w+eq-i)
			w += n
		}
		i = end
	}
	return b[:w]
}

// addKeys adds to keys the keys of the fields written in b[start:].
func addKeys(keys *keySet, b []byte, start int) {
	for i := start; i < len(b); {
		eq, end := nextField(b, i)
		keys.add(b, keyHash(b[i+1:eq]), i+1, eq)
		i = end
	}
}

// appendValue appends v formatted: numbers and booleans as Go prints them, durations as
// Go duration strings, times in RFC 3339 with nanoseconds in UTC, errors by Error(),
// other values by MarshalText, String or fmt's %+v.
func appendValue(b []byte, v slog.Value) []byte { return appendValueKind(b, v, v.Kind()) }

func appendValueKind(b []byte, v slog.Value, kind slog.Kind) []byte {
	switch kind {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		n := v.Int64()
		if n < 0 {
			return strconv.AppendInt(b, n, 10)
		}
		return appendUint(b, uint64(n))
	case slog.KindUint64:
		return appendUint(b, v.Uint64())
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return append(b, v.Duration().String()...)
	case slog.KindTime:
		return appendTimeValue(b, v.Time())
	case slog.KindLogValuer:
		return appendValue(b, v.Resolve())
	case slog.KindGroup:
		return appendString(b, v.String())
	default:
		return appendAny(b, v.Any())
	}
}

func appendTimeValue(b []byte, t time.Time) []byte {
	start := len(b)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	for _, c := range b[start:] {
		if c <= ' ' || c == '=' || c == '"' {
			// Only a year outside 0..9999 could get here; be safe anyway.
			s := string(b[start:])
			return appendQuoted(b[:start], s)
		}
	}
	return b
}

// appendAny formats a value of kind Any. A panicking Error, String or MarshalText
// method (a nil pointer receiver, often) is caught: the value is written as "<nil>" for
// a nil pointer, or as the panic.
func appendAny(b []byte, a any) (out []byte) {
	start := len(b)
	defer func() {
		if p := recover(); p != nil {
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.Pointer && rv.IsNil() {
				out = append(b[:start], "<nil>"...)
				return
			}
			out = appendQuoted(b[:start], fmt.Sprintf("!PANIC: %v", p))
		}
	}()
	switch x := a.(type) {
	case nil:
		return append(b, "<nil>"...)
	case error:
		return appendString(b, x.Error())
	case encoding.TextMarshaler:
		t, err := x.MarshalText()
		if err != nil {
			return appendQuoted(b, "!ERROR: "+err.Error())
		}
		return appendString(b, string(t))
	case []byte:
		return appendString(b, string(x))
	case fmt.Stringer:
		return appendString(b, x.String())
	default:
		return appendString(b, fmt.Sprintf("%+v", x))
	}
}

// dateText is the "2006-01-02T" of one day, cached: most timestamps fall on the day
// of the previous one.
type dateText struct {
	day  int64 // days since 1970-01-01
	text [11]byte
}

var lastDate atomic.Pointer[dateText]

// digits2 holds "00" to "99".
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendTimestamp appends t in UTC as 2006-01-02T15:04:05.000000Z, without the cost
// of time.Format.
func appendTimestamp(b []byte, t time.Time) []byte {
	sec := t.Unix()
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		rem += 86400
		days--
	}
	d := lastDate.Load()
	if d == nil || d.day != days {
		if d = newDateText(days); d == nil {
			return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
		}
		lastDate.Store(d)
	}
	b = append(b, d.text[:]...)
	r, us := uint32(rem), uint32(t.Nanosecond())/1000
	h, m, s := r/3600*2, r/60%60*2, r%60*2
	u1, u2, u3 := us/10000*2, us/100%100*2, us%100*2
	return append(b,
		digits2[h], digits2[h+1], ':', digits2[m], digits2[m+1], ':', digits2[s], digits2[s+1], '.',
		digits2[u1], digits2[u1+1], digits2[u2], digits2[u2+1], digits2[u3], digits2[u3+1], 'Z')
}

// newDateText computes the civil date of a day since 1970-01-01 (Howard Hinnant's
// algorithm), or nil for a year outside 0..9999.
func newDateText(days int64) *dateText {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	year := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	if month > 12 {
		month -= 12
	}
	if month <= 2 {
		year++
	}
	if year < 0 || year > 9999 {
		return nil
	}
	y1, y2, mo, dd := year/100*2, year%100*2, month*2, day*2
	return &dateText{day: days, text: [11]byte{
		digits2[y1], digits2[y1+1], digits2[y2], digits2[y2+1], '-',
		digits2[mo], digits2[mo+1], '-', digits2[dd], digits2[dd+1], 'T'}}
}

// appendLocation appends file:line, file trimmed to its last two path elements
// ("vendor/client.go:354").
func appendLocation(b []byte, file string, line int) []byte {
	cut, slashes := 0, 0
	for i := len(file) - 1; i >= 0; i-- {
		if file[i] == '/' || file[i] == '\\' {
			slashes++
			if slashes == 2 {
				cut = i + 1
				break
			}
		}
	}
	file = file[cut:]
	if needsQuote(file) {
		start := len(b)
		b = append(b, file...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(line), 10)
		s := string(b[start:])
		return appendQuoted(b[:start], s)
	}
	b = append(b, file...)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(line), 10)
}

// locEntry is a formatted " location=dir/file.go:line" for one program counter.
type locEntry struct {
	pc   uintptr
	text string
}

// locCache is a direct-mapped cache of formatted locations: a hit costs one atomic
// load, where resolving the PC costs a map lookup and trimming the path.
var locCache [512]atomic.Pointer[locEntry]

// appendLocationOf appends " location=..." for pc, or nothing when pc resolves to no
// file.
func appendLocationOf(b []byte, pc uintptr) []byte {
	slot := &locCache[(pc^pc>>9)%uintptr(len(locCache))]
	if e := slot.Load(); e != nil && e.pc == pc {
		return append(b, e.text...)
	}
	loc := subscriber.LocationOf(pc)
	if loc == nil || loc.File == "" {
		return b
	}
	text := string(appendLocation([]byte(" location="), loc.File, loc.Line))
	slot.Store(&locEntry{pc: pc, text: text})
	return append(b, text...)
}
