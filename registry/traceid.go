package registry

import (
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
