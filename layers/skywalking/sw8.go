package skywalking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"
)

// The propagation headers of the SkyWalking cross-process protocol (v3).
const (
	// HeaderSW8 carries the parent's trace context.
	HeaderSW8 = "sw8"
	// HeaderCorrelation carries up to [MaxCorrelationKeys] user key/values along the trace.
	HeaderCorrelation = "sw8-correlation"
)

// The bounds of the sw8-correlation header, as SkyWalking's agents apply them.
const (
	// MaxCorrelationKeys is how many key/values a correlation header keeps; later ones
	// are ignored.
	MaxCorrelationKeys = 3
	// MaxCorrelationValue is the length of the longest correlation value kept, in bytes.
	// Longer values are ignored.
	MaxCorrelationValue = 127
)

// SW8 is the content of an sw8 header: the trace context a caller passes to the service
// it calls,
//
//	sample-b64(traceId)-b64(parentSegmentId)-parentSpanId-b64(parentService)-b64(parentInstance)-b64(parentEndpoint)-b64(addressUsedAtClient)
//
// with the strings in standard base64 and exactly 8 fields.
type SW8 struct {
	// Sampled is the caller's sampling decision ("1" or "0").
	Sampled bool
	// TraceID is the trace id, kept exactly as the caller wrote it.
	TraceID string
	// ParentSegmentID is the caller's segment, ParentSpanID the exit span in it that made
	// the call.
	ParentSegmentID string
	ParentSpanID    int32
	// ParentService and ParentInstance name the caller.
	ParentService  string
	ParentInstance string
	// ParentEndpoint is the operation name of the caller's entry span (or of its segment's
	// first span).
	ParentEndpoint string
	// AddressUsedAtClient is the address the caller used to reach this service (the exit
	// span's peer).
	AddressUsedAtClient string
}

// errSW8 is the error every malformed header wraps.
var errSW8 = errors.New("skywalking: malformed sw8 header")

// sw8FieldNames name the fields in errors.
var sw8FieldNames = [8]string{"sample", "traceId", "parentSegmentId", "parentSpanId",
	"parentService", "parentInstance", "parentEndpoint", "addressUsedAtClient"}

func sw8Error(field int, why string) error {
	return fmt.Errorf("%w: field %d (%s): %s", errSW8, field+1, sw8FieldNames[field], why)
}

// DecodeSW8 decodes an sw8 header. It returns an error, and never panics, for anything
// that is not exactly 8 dash-separated fields with a sample flag of "1" or "0", a
// non-empty trace id and segment id, a span id from 0 to 2^31-1 in decimal, and valid
// base64 (padded or not) in the string fields.
//
// It allocates once: the decoded strings share one buffer.
func DecodeSW8(s string) (SW8, error) {
	var h SW8
	// Field boundaries: field i is s[from[i]:to[i]]. Base64 has no '-', so splitting at
	// the dashes is unambiguous.
	var from, to [8]int
	n := 0
	// Eight bytes at a time: a byte of x is 0 exactly where s has a '-'.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8)) ^ 0x2d2d2d2d2d2d2d2d
		t := ^(((x & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f) | x | 0x7f7f7f7f7f7f7f7f)
		for t != 0 {
			if n == 7 {
				return h, fmt.Errorf("%w: more than 8 fields", errSW8)
			}
			p := i + bits.TrailingZeros64(t)/8
			to[n] = p
			n++
			from[n] = p + 1
			t &= t - 1
		}
	}
	for ; i < len(s); i++ {
		if s[i] == '-' {
			if n == 7 {
				return h, fmt.Errorf("%w: more than 8 fields", errSW8)
			}
			to[n] = i
			n++
			from[n] = i + 1
		}
	}
	if n != 7 {
		return h, fmt.Errorf("%w: %d fields, want 8", errSW8, n+1)
	}
	to[7] = len(s)
	switch s[from[0]:to[0]] {
	case "1":
		h.Sampled = true
	case "0":
	default:
		return h, sw8Error(0, `not "1" or "0"`)
	}
	id, ok := parseSpanID(s[from[3]:to[3]])
	if !ok {
		return h, sw8Error(3, "not a decimal number from 0 to 2147483647")
	}
	h.ParentSpanID = id
	// The base64 fields, decoded into one buffer.
	var fields [8]string // the unpadded base64 of fields 1, 2, 4, 5, 6, 7
	total := 0
	for _, f := range [...]int{1, 2, 4, 5, 6, 7} {
		field := s[from[f]:to[f]]
		d, ok := b64Split(field)
		if !ok {
			return h, sw8Error(f, "not base64")
		}
		fields[f] = field[:d]
		total += d / 4 * 3
		if r := d % 4; r != 0 {
			total += r - 1
		}
	}
	if fields[1] == "" {
		return h, sw8Error(1, "empty")
	}
	if fields[2] == "" {
		return h, sw8Error(2, "empty")
	}
	buf := make([]byte, total)
	var out [8]string
	at := 0
	for _, f := range [...]int{1, 2, 4, 5, 6, 7} {
		m, ok := b64DecodeData(buf[at:], fields[f])
		if !ok {
			return h, sw8Error(f, "not base64")
		}
		// buf is never written again once decoded: the strings may share it.
		if m > 0 {
			out[f] = unsafe.String(&buf[at], m)
		}
		at += m
	}
	h.TraceID, h.ParentSegmentID = out[1], out[2]
	h.ParentService, h.ParentInstance, h.ParentEndpoint, h.AddressUsedAtClient = out[4], out[5], out[6], out[7]
	return h, nil
}

// parseSpanID parses a non-negative int32 in decimal, digits only.
func parseSpanID(s string) (int32, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// Encode returns the header's text. It allocates once, for the string.
func (h SW8) Encode() string {
	b := make([]byte, h.encodedLen())
	n := h.put(b)
	return unsafe.String(unsafe.SliceData(b), n)
}

// AppendSW8 appends the text of h to dst and returns it. It does not allocate when dst
// has room.
func AppendSW8(dst []byte, h SW8) []byte {
	n := len(dst)
	dst = slices.Grow(dst, h.encodedLen())
	m := h.put(dst[n:cap(dst)])
	return dst[:n+m]
}

// put writes the text of h at the start of b, which has room for encodedLen bytes, and
// returns its length.
func (h *SW8) put(b []byte) int {
	b[0], b[1] = '0', '-'
	if h.Sampled {
		b[0] = '1'
	}
	j := 2
	j += b64Put(b[j:], h.TraceID)
	b[j] = '-'
	j++
	j += b64Put(b[j:], h.ParentSegmentID)
	b[j] = '-'
	j++
	j += putUint(b[j:], uint32(max(h.ParentSpanID, 0)))
	b[j] = '-'
	j++
	j += b64Put(b[j:], h.ParentService)
	b[j] = '-'
	j++
	j += b64Put(b[j:], h.ParentInstance)
	b[j] = '-'
	j++
	j += b64Put(b[j:], h.ParentEndpoint)
	b[j] = '-'
	j++
	return j + b64Put(b[j:], h.AddressUsedAtClient)
}

// encodedLen is the exact length of the text of h.
func (h *SW8) encodedLen() int {
	return 2 + 6 + uintLen(uint32(max(h.ParentSpanID, 0))) + b64Len(h.TraceID) + b64Len(h.ParentSegmentID) +
		b64Len(h.ParentService) + b64Len(h.ParentInstance) + b64Len(h.ParentEndpoint) + b64Len(h.AddressUsedAtClient)
}

// uintLen is the number of decimal digits of n.
func uintLen(n uint32) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

// putUint writes n in decimal at the start of b and returns its length.
func putUint(b []byte, n uint32) int {
	l := uintLen(n)
	b = b[:l]
	for i := l - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return l
}

// Correlation is one key/value of the sw8-correlation header, which SkyWalking agents
// carry along a trace unchanged.
type Correlation struct {
	Key, Value string
}

// DecodeCorrelation decodes an sw8-correlation header, "b64(key):b64(value)" pairs
// separated by commas. Like SkyWalking's agents, it keeps the first
// [MaxCorrelationKeys] well-formed pairs whose value is at most [MaxCorrelationValue]
// bytes and ignores the rest; it never fails.
func DecodeCorrelation(s string) []Correlation {
	var out []Correlation
	for s != "" && len(out) < MaxCorrelationKeys {
		item := s
		if i := indexByte(s, ','); i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		c := indexByte(item, ':')
		if c < 0 {
			continue
		}
		k, ok1 := b64DecodeString(item[:c])
		v, ok2 := b64DecodeString(item[c+1:])
		if !ok1 || !ok2 || k == "" || len(v) > MaxCorrelationValue {
			continue
		}
		if out == nil {
			out = make([]Correlation, 0, MaxCorrelationKeys)
		}
		out = append(out, Correlation{Key: k, Value: v})
	}
	return out
}

// AppendCorrelation appends the sw8-correlation text of cs to dst.
func AppendCorrelation(dst []byte, cs []Correlation) []byte {
	for i, c := range cs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b64Append(dst, c.Key)
		dst = append(dst, ':')
		dst = b64Append(dst, c.Value)
	}
	return dst
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Standard base64 (RFC 4648 §4), written here so that it works on strings without
// converting them to byte slices.

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Pairs maps 12 bits to their two base64 characters, the first in the low byte.
var b64Pairs = func() (t [4096]uint16) {
	for i := range t {
		t[i] = uint16(b64Alphabet[i>>6]) | uint16(b64Alphabet[i&0x3f])<<8
	}
	return t
}()

// b64Index maps a byte to its 6-bit value, or 0xff when it is not in the alphabet.
var b64Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(b64Alphabet); i++ {
		t[b64Alphabet[i]] = byte(i)
	}
	return t
}()

// b64Len is the padded encoded length of s.
func b64Len(s string) int { return (len(s) + 2) / 3 * 4 }

// b64Append appends the padded standard base64 of s to dst.
func b64Append(dst []byte, s string) []byte {
	i := 0
	for ; i+3 <= len(s); i += 3 {
		v := uint(s[i])<<16 | uint(s[i+1])<<8 | uint(s[i+2])
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], b64Alphabet[v>>6&0x3f], b64Alphabet[v&0x3f])
	}
	switch len(s) - i {
	case 1:
		v := uint(s[i]) << 16
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], '=', '=')
	case 2:
		v := uint(s[i])<<16 | uint(s[i+1])<<8
		dst = append(dst, b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], b64Alphabet[v>>6&0x3f], '=')
	}
	return dst
}

// b64Put writes the padded standard base64 of s at the start of b, which has room for
// it, and returns its length.
func b64Put(b []byte, s string) int {
	n := b64Len(s)
	b = b[:n]
	j := 0
	for len(s) >= 3 && len(b)-j >= 4 {
		v := uint(s[0])<<16 | uint(s[1])<<8 | uint(s[2])
		binary.LittleEndian.PutUint32(b[j:], uint32(b64Pairs[v>>12])|uint32(b64Pairs[v&0xfff])<<16)
		s = s[3:]
		j += 4
	}
	switch len(s) {
	case 1:
		v := uint(s[0]) << 16
		d := b[j : j+4 : j+4]
		d[0], d[1], d[2], d[3] = b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], '=', '='
	case 2:
		v := uint(s[0])<<16 | uint(s[1])<<8
		d := b[j : j+4 : j+4]
		d[0], d[1], d[2], d[3] = b64Alphabet[v>>18&0x3f], b64Alphabet[v>>12&0x3f], b64Alphabet[v>>6&0x3f], '='
	}
	return n
}

// b64Split returns the length of s without its padding, and false when s cannot be
// base64: a length that no encoding has. Padding is taken only on a length that is a
// multiple of 4; a '=' anywhere else fails the decoding as a byte outside the alphabet.
func b64Split(s string) (data int, ok bool) {
	n := len(s)
	data = n
	if n%4 == 0 && n > 0 && s[n-1] == '=' {
		data--
		if s[n-2] == '=' {
			data--
		}
	}
	return data, data%4 != 1
}

// b64DecodedLen returns how many bytes s decodes to, and false when s cannot be base64.
func b64DecodedLen(s string) (int, bool) {
	data, ok := b64Split(s)
	if !ok {
		return 0, false
	}
	if r := data % 4; r != 0 {
		return data/4*3 + r - 1, true
	}
	return data / 4 * 3, true
}

// b64Decode decodes s (padded or not) into dst, which has room for it, and returns the
// length. Bits past the last byte are ignored, as by encoding/base64's StdEncoding.
func b64Decode(dst []byte, s string) (int, bool) {
	data, ok := b64Split(s)
	if !ok || len(dst) < data/4*3+max(data%4-1, 0) {
		return 0, false
	}
	return b64DecodeData(dst, s[:data])
}

// b64DecodeData decodes s, base64 without padding whose length is not 1 modulo 4, into
// dst, which has room for it.
func b64DecodeData(dst []byte, s string) (int, bool) {
	j := 0
	var bad byte // the OR of every index: bit 7 or 6 set means a byte outside the alphabet
	// Eight characters at a time, written as one 8-byte store of which 6 are kept (the
	// next ones overwrite the other 2; dst has room for them).
	for len(s) >= 8 && len(dst)-j >= 8 {
		c0, c1, c2, c3 := b64Index[s[0]], b64Index[s[1]], b64Index[s[2]], b64Index[s[3]]
		c4, c5, c6, c7 := b64Index[s[4]], b64Index[s[5]], b64Index[s[6]], b64Index[s[7]]
		bad |= c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7
		v := uint64(c0)<<58 | uint64(c1)<<52 | uint64(c2)<<46 | uint64(c3)<<40 |
			uint64(c4)<<34 | uint64(c5)<<28 | uint64(c6)<<22 | uint64(c7)<<16
		binary.BigEndian.PutUint64(dst[j:], v)
		s = s[8:]
		j += 6
	}
	for len(s) >= 4 && len(dst)-j >= 3 {
		a, b, c, d := b64Index[s[0]], b64Index[s[1]], b64Index[s[2]], b64Index[s[3]]
		bad |= a | b | c | d
		v := uint(a)<<18 | uint(b)<<12 | uint(c)<<6 | uint(d)
		o := dst[j : j+3 : j+3]
		o[2], o[1], o[0] = byte(v), byte(v>>8), byte(v>>16)
		s = s[4:]
		j += 3
	}
	if bad&0xc0 != 0 {
		return 0, false
	}
	switch len(s) {
	case 0:
	case 2:
		a, b := b64Index[s[0]], b64Index[s[1]]
		if (a|b)&0xc0 != 0 || j >= len(dst) {
			return 0, false
		}
		dst[j] = byte(a<<2 | b>>4)
		j++
	case 3:
		a, b, c := b64Index[s[0]], b64Index[s[1]], b64Index[s[2]]
		if (a|b|c)&0xc0 != 0 || len(dst)-j < 2 {
			return 0, false
		}
		v := uint(a)<<18 | uint(b)<<12 | uint(c)<<6
		dst[j], dst[j+1] = byte(v>>16), byte(v>>8)
		j += 2
	default:
		return 0, false // 1 modulo 4, or no room
	}
	return j, true
}

// b64DecodeString decodes s into a new string.
func b64DecodeString(s string) (string, bool) {
	m, ok := b64DecodedLen(s)
	if !ok {
		return "", false
	}
	if m == 0 {
		return "", true
	}
	buf := make([]byte, m)
	n, ok := b64Decode(buf, s)
	if !ok {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(buf), n), true
}
