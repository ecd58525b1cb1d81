package registry

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
)

// TraceID identifies a trace. New traces get a random 128-bit id. A trace continued from
// another process keeps the upstream id exactly: a 32-character lowercase hex id is held
// as its 16 bytes, and any other form is held as the original string.
type TraceID struct {
	hi, lo uint64
	raw    string
}

// NewTraceID returns a random 128-bit trace id from a lock-free per-thread source.
func NewTraceID() TraceID {
	for {
		t := TraceID{hi: rand.Uint64(), lo: rand.Uint64()}
		if !t.IsZero() {
			return t
		}
	}
}

// TraceIDFromBytes returns the trace id with the given 16 bytes (big-endian).
func TraceIDFromBytes(b [16]byte) TraceID {
	var t TraceID
	for i := 0; i < 8; i++ {
		t.hi = t.hi<<8 | uint64(b[i])
		t.lo = t.lo<<8 | uint64(b[8+i])
	}
	return t
}

// ParseTraceID returns the trace id that prints as s. A 32-character lowercase hex string
// is parsed into 16 bytes; any other non-empty string is kept as it is, byte for byte. An
// empty string gives the zero TraceID.
func ParseTraceID(s string) TraceID {
	if len(s) == 32 {
		var b [16]byte
		if isLowerHex(s) {
			if _, err := hex.Decode(b[:], []byte(s)); err == nil {
				if t := TraceIDFromBytes(b); !t.IsZero() {
					return t
				}
			}
		}
	}
	return TraceID{raw: s}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IsZero reports whether t is the zero trace id (no trace).
func (t TraceID) IsZero() bool { return t.hi == 0 && t.lo == 0 && t.raw == "" }

// IsRaw reports whether t holds an upstream id that is not 32 lowercase hex characters.
func (t TraceID) IsRaw() bool { return t.raw != "" }

// Bytes returns the 16 bytes of a 128-bit trace id, and false for a raw (non-hex) id.
func (t TraceID) Bytes() ([16]byte, bool) {
	var b [16]byte
	if t.raw != "" {
		return b, false
	}
	for i := 0; i < 8; i++ {
		b[i] = byte(t.hi >> (56 - 8*i))
		b[8+i] = byte(t.lo >> (56 - 8*i))
	}
	return b, true
}

// Bytes128 returns the 128-bit form of the trace id, the one exporters write (Jaeger,
// OTLP, Datadog). A 128-bit id (any id Strata made, and any 32-character lowercase hex
// id it continued) is itself, so the id logfmt prints is the id those backends show.
// An upstream id in another form (some SkyWalking agents send ids such as
// "a1b2c3.45.16801234560001") is mapped, and mapped reports it, by this rule:
//
//   - 1 to 32 hexadecimal digits, either case: their value, zero-padded on the left (a
//     64-bit id 00f067aa0ba902b7 becomes 000000000000000000f067aa0ba902b7);
//   - anything else: the first 16 bytes of the SHA-256 of the id's bytes.
//
// The rule is deterministic: every service that receives the same upstream id maps it
// to the same trace. The zero TraceID gives 16 zero bytes.
func (t TraceID) Bytes128() (id [16]byte, mapped bool) {
	if t.raw == "" {
		id, _ = t.Bytes()
		return id, false
	}
	if hexID(t.raw, &id) {
		return id, true
	}
	sum := sha256.Sum256([]byte(t.raw))
	copy(id[:], sum[:16])
	if id == [16]byte{} {
		id[15] = 1 // never the invalid all-zero id
	}
	return id, true
}

// hexID parses 1 to 32 hex digits, either case, into id, right-aligned; all zeros is
// not an id.
func hexID(s string, id *[16]byte) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return false
		}
		hi = hi<<4 | lo>>60
		lo = lo<<4 | uint64(v)
	}
	if hi == 0 && lo == 0 {
		return false
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return true
}

const hexDigits = "0123456789abcdef"

// AppendText appends the trace id's text form (32 lowercase hex characters, or the raw
// upstream id) to dst. It does not allocate when dst has room.
func (t TraceID) AppendText(dst []byte) ([]byte, error) {
	if t.raw != "" {
		return append(dst, t.raw...), nil
	}
	if t.IsZero() {
		return dst, nil
	}
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[t.hi>>uint(shift)&0xf])
	}
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[t.lo>>uint(shift)&0xf])
	}
	return dst, nil
}

// String returns the text form of the trace id ("" for the zero id).
func (t TraceID) String() string {
	if t.raw != "" || t.IsZero() {
		return t.raw
	}
	var buf [32]byte
	b, _ := t.AppendText(buf[:0])
	return string(b)
}
