// Package w3c propagates traces in the W3C Trace Context format (the traceparent and
// tracestate headers), so that a Strata service continues the traces of callers
// instrumented with OpenTelemetry, and its calls continue in services that read W3C
// headers.
//
// Compose its Layer with the others; it has no hooks, only [subscriber.Propagator]:
//
//	d, err := subscriber.New(storage.New(), sw, w3c.New())
//
// [subscriber.Dispatch.Extract] asks the propagators in the order they were composed,
// and the first that finds a parent wins: put the one your callers mostly use first.
// Inject writes through every propagator, so a call carries both sw8 and traceparent.
//
// A remote parent extracted here continues the trace with the caller's trace id; an
// exporter that is not W3C's (the SkyWalking layer) adds no reference to it, since it
// has no segment to refer to. The tracestate header is kept as received and passed on
// by the spans of the trace.
package w3c

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// The headers of W3C Trace Context.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// PropagatorName is the [subscriber.RemoteParent].Propagator of remote parents this
// package extracts.
const PropagatorName = "w3c"

// maxTracestate is the longest tracestate passed on; the specification asks vendors to
// propagate at least 512 characters and lets them drop longer ones.
const maxTracestate = 512

// Traceparent is a decoded traceparent header.
type Traceparent struct {
	Version  byte
	TraceID  [16]byte
	ParentID [8]byte
	Flags    byte
}

// Sampled reports the sampled flag.
func (t Traceparent) Sampled() bool { return t.Flags&1 != 0 }

// Remote is the [subscriber.RemoteParent].Data of a remote parent this package
// extracted: the traceparent and the tracestate as received.
type Remote struct {
	Traceparent
	Tracestate string
}

var errTraceparent = errors.New("w3c: malformed traceparent")

// ParseTraceparent decodes a traceparent header: version-traceid-parentid-flags in
// lowercase hex. Version 00 must be exactly that; a later version may carry more fields
// after a dash, which are ignored, as the specification asks. Version ff, an all-zero
// trace id or parent id, and anything else malformed are errors; it never panics.
func ParseTraceparent(s string) (Traceparent, error) {
	var t Traceparent
	if len(s) < 55 {
		return t, fmt.Errorf("%w: %d characters, want 55", errTraceparent, len(s))
	}
	v, ok := hexByte(s[0:2])
	if !ok || v == 0xff {
		return t, fmt.Errorf("%w: version %q", errTraceparent, s[0:2])
	}
	if v == 0 && len(s) != 55 || v != 0 && len(s) > 55 && s[55] != '-' {
		return t, fmt.Errorf("%w: %d characters for version %02x", errTraceparent, len(s), v)
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return t, fmt.Errorf("%w: want version-traceid-parentid-flags", errTraceparent)
	}
	t.Version = v
	if !decodeHex(t.TraceID[:], s[3:35]) || t.TraceID == [16]byte{} {
		return t, fmt.Errorf("%w: trace id %q", errTraceparent, s[3:35])
	}
	if !decodeHex(t.ParentID[:], s[36:52]) || t.ParentID == [8]byte{} {
		return t, fmt.Errorf("%w: parent id %q", errTraceparent, s[36:52])
	}
	if t.Flags, ok = hexByte(s[53:55]); !ok {
		return t, fmt.Errorf("%w: flags %q", errTraceparent, s[53:55])
	}
	return t, nil
}

// String returns the header text, version 00 (the only version this package writes).
func (t Traceparent) String() string {
	b := make([]byte, 0, 55)
	b = append(b, '0', '0', '-')
	b = appendHex(b, t.TraceID[:])
	b = append(b, '-')
	b = appendHex(b, t.ParentID[:])
	b = append(b, '-')
	return string(appendHex(b, []byte{t.Flags}))
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, src []byte) []byte {
	for _, c := range src {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func hexByte(s string) (byte, bool) {
	hi, ok1 := unhex(s[0])
	lo, ok2 := unhex(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func decodeHex(dst []byte, s string) bool {
	for i := range dst {
		b, ok := hexByte(s[2*i : 2*i+2])
		if !ok {
			return false
		}
		dst[i] = b
	}
	return true
}

// Layer is the W3C Trace Context propagator. It has no hooks and no state.
type Layer struct{}

// New returns the propagator layer.
func New() *Layer { return &Layer{} }

// extracted is a RemoteParent and its Data in one allocation.
type extracted struct {
	rp subscriber.RemoteParent
	r  Remote
}

// Extract reads the carrier's traceparent (and tracestate). A missing or malformed
// traceparent gives false: the span starts a new trace. A tracestate longer than 512
// characters is dropped.
func (l *Layer) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	v := c.Get(HeaderTraceparent)
	if v == "" {
		return nil, false
	}
	tp, err := ParseTraceparent(v)
	if err != nil {
		return nil, false
	}
	x := &extracted{r: Remote{Traceparent: tp}}
	if ts := c.Get(HeaderTracestate); len(ts) <= maxTracestate {
		x.r.Tracestate = ts
	}
	x.rp = subscriber.RemoteParent{
		TraceID:    registry.TraceIDFromBytes(tp.TraceID),
		Sampled:    tp.Sampled(),
		SpanID:     binary.BigEndian.Uint64(tp.ParentID[:]),
		Propagator: PropagatorName,
		Data:       &x.r,
	}
	return &x.rp, true
}

// Inject writes traceparent for span (its trace id, its span id as the parent id, the
// sampled flag set: the span is recorded) and passes on the tracestate its trace
// received. A trace whose id is not 128 bits (one continued from a SkyWalking caller
// with another id form) cannot be written as traceparent: nothing is written then.
func (l *Layer) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	id, ok := span.TraceID().Bytes()
	if !ok || id == [16]byte{} {
		return
	}
	tp := Traceparent{TraceID: id, Flags: 1}
	sid := uint64(span.ID())
	for i := 7; i >= 0; i-- {
		tp.ParentID[i] = byte(sid)
		sid >>= 8
	}
	c.Set(HeaderTraceparent, tp.String())
	// The tracestate of the remote parent the span's local root continues, if any.
	top := span
	for p := span.Parent(); !p.IsZero(); p = p.Parent() {
		top = p
	}
	if rp := top.Remote(); rp != nil && rp.Propagator == PropagatorName {
		if r, ok := rp.Data.(*Remote); ok && r.Tracestate != "" {
			c.Set(HeaderTracestate, r.Tracestate)
		}
	}
}
