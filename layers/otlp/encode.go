package otlp

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/internal/spanexport"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// SDKVersion is the telemetry.sdk.version every exported resource carries.
const SDKVersion = "0.1.0"

// The span flags written: the W3C sampled flag (Strata exports every span it sees), and
// whether the parent is remote.
const (
	flagSampled     = 0x01
	flagHasIsRemote = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	flagIsRemote    = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
)

// tag is a field's tag, its number and wire type: number<<3 | type.
type tag uint64

// The wire types written.
const (
	wtVarint = tag(protowire.VarintType)
	wt64     = tag(protowire.Fixed64Type)
	wtBytes  = tag(protowire.BytesType)
	wt32     = tag(protowire.Fixed32Type)
)

// The tags of the fields of the OTLP messages written (opentelemetry/proto trace/v1,
// common/v1, resource/v1), in the order they are written: by number, as proto.Marshal
// does. A field is written as tag, then value.
const (
	tTracesDataResourceSpans tag = 1<<3 | wtBytes // TracesData.resource_spans

	tResourceSpansResource   tag = 1<<3 | wtBytes // ResourceSpans.resource
	tResourceSpansScopeSpans tag = 2<<3 | wtBytes // ResourceSpans.scope_spans
	tResourceAttributes      tag = 1<<3 | wtBytes // Resource.attributes

	tScopeSpansScope tag = 1<<3 | wtBytes // ScopeSpans.scope
	tScopeSpansSpans tag = 2<<3 | wtBytes // ScopeSpans.spans
	tScopeName       tag = 1<<3 | wtBytes // InstrumentationScope.name

	tSpanTraceID       tag = 1<<3 | wtBytes   // bytes
	tSpanSpanID        tag = 2<<3 | wtBytes   // bytes
	tSpanParentSpanID  tag = 4<<3 | wtBytes   // bytes
	tSpanName          tag = 5<<3 | wtBytes   // string
	tSpanKind          tag = 6<<3 | wtVarint  // enum
	tSpanStart         tag = 7<<3 | wt64      // fixed64
	tSpanEnd           tag = 8<<3 | wt64      // fixed64
	tSpanAttributes    tag = 9<<3 | wtBytes   // repeated KeyValue
	tSpanEvents        tag = 11<<3 | wtBytes  // repeated Event
	tSpanDroppedEvents tag = 12<<3 | wtVarint // uint32
	tSpanLinks         tag = 13<<3 | wtBytes  // repeated Link
	tSpanStatus        tag = 15<<3 | wtBytes  // Status
	tSpanFlags         tag = 16<<3 | wt32     // fixed32

	tEventTime       tag = 1<<3 | wt64    // fixed64
	tEventName       tag = 2<<3 | wtBytes // string
	tEventAttributes tag = 3<<3 | wtBytes // repeated KeyValue

	tLinkTraceID tag = 1<<3 | wtBytes // bytes
	tLinkSpanID  tag = 2<<3 | wtBytes // bytes
	tLinkFlags   tag = 6<<3 | wt32    // fixed32

	tStatusMessage tag = 2<<3 | wtBytes  // string
	tStatusCode    tag = 3<<3 | wtVarint // enum

	tKeyValueKey   tag = 1<<3 | wtBytes // string
	tKeyValueValue tag = 2<<3 | wtBytes // AnyValue

	tAnyString tag = 1<<3 | wtBytes // oneof: written even when zero
	tAnyBool   tag = 2<<3 | wtVarint
	tAnyInt    tag = 3<<3 | wtVarint
	tAnyDouble tag = 4<<3 | wt64
)

// maxKeptBuffer is the request size above which the encoder does not keep its buffer
// for the next batch: one huge batch does not pin its memory.
const maxKeptBuffer = 16 << 20

// encoder turns batches of spans into the bytes of an ExportTraceServiceRequest (whose
// encoding is that of TracesData: one repeated ResourceSpans field, number 1). It writes
// the protobuf wire format directly into one buffer reused from batch to batch, with no
// message objects in between, and is used by the pipeline's goroutine only.
//
// A nested message is written as its tag, room for its length, then its fields; its
// length is filled in when it ends (see openMsg and closeMsg), the fields moved when the
// length needs more or fewer bytes than the room left.
type encoder struct {
	resource []byte // ResourceSpans.resource, tag included, encoded once

	buf     []byte
	scratch []byte // a value's text (times, huge integers)

	index   map[string]int32 // target -> scope, per batch
	targets []string         // scope -> target, in order of first appearance
	ofSpan  []int32          // scope of batch[k]
	start   []int32          // where scope i's spans start in order
	order   []int32          // the batch's indexes, grouped by scope
}

func newEncoder(resource []slog.Attr) *encoder {
	e := &encoder{index: make(map[string]int32)}
	b, m := openMsg(nil, tResourceSpansResource, 2)
	for _, a := range resource {
		b = e.keyValue(b, tResourceAttributes, a.Key, a.Value.Resolve())
	}
	e.resource = closeMsg(b, m)
	return e
}

// encode returns the request for batch, valid until the next call. It cannot fail; the
// error is for the transport's sake.
func (e *encoder) encode(batch []*spanexport.Span) ([]byte, error) {
	e.group(batch)
	b, rs := openMsg(e.buf[:0], tTracesDataResourceSpans, 3)
	b = append(b, e.resource...)
	for i, target := range e.targets {
		var ss, sc mark
		b, ss = openMsg(b, tResourceSpansScopeSpans, 3)
		b, sc = openMsg(b, tScopeSpansScope, 1)
		b = appendString(b, tScopeName, target)
		b = closeMsg(b, sc)
		for _, k := range e.order[e.start[i]:e.start[i+1]] {
			b = e.span(b, batch[k])
		}
		b = closeMsg(b, ss)
	}
	b = closeMsg(b, rs)
	// Forget the batch's strings.
	clear(e.index)
	clear(e.targets)
	e.targets = e.targets[:0]
	e.buf = b
	if cap(b) > maxKeptBuffer {
		e.buf = nil
	}
	return b, nil
}

// group fills targets (one ScopeSpans per target, in order of first appearance) and
// order (the batch's spans by scope, in their order in the batch within one).
func (e *encoder) group(batch []*spanexport.Span) {
	e.ofSpan = e.ofSpan[:0]
	last, lastTarget := int32(-1), ""
	for _, s := range batch {
		i := last
		if i < 0 || s.Target != lastTarget {
			var ok bool
			if i, ok = e.index[s.Target]; !ok {
				i = int32(len(e.targets))
				e.index[s.Target] = i
				e.targets = append(e.targets, s.Target)
			}
			last, lastTarget = i, s.Target
		}
		e.ofSpan = append(e.ofSpan, i)
	}
	e.start = append(e.start[:0], make([]int32, len(e.targets)+1)...)
	e.order = append(e.order[:0], make([]int32, len(batch))...)
	if len(e.targets) == 1 {
		e.start[1] = int32(len(batch))
		for k := range e.order {
			e.order[k] = int32(k)
		}
		return
	}
	for _, i := range e.ofSpan {
		e.start[i+1]++
	}
	for i := 1; i < len(e.start); i++ {
		e.start[i] += e.start[i-1]
	}
	// A plain counting sort: fill from each scope's start, then restore the starts.
	fill := e.start[:len(e.targets)]
	for k, i := range e.ofSpan {
		e.order[fill[i]] = int32(k)
		fill[i]++
	}
	// fill[i] is now where scope i ends, which is where scope i+1 starts.
	copy(e.start[1:], fill)
	e.start[0] = 0
}

func (e *encoder) span(b []byte, s *spanexport.Span) []byte {
	b, m := openMsg(b, tScopeSpansSpans, 2)
	tid, _ := spanexport.TraceID128(s.TraceID)
	b = appendBytes(b, tSpanTraceID, tid[:])
	b = appendID(b, tSpanSpanID, uint64(s.SpanID))
	flags := uint32(flagSampled | flagHasIsRemote)
	if s.ParentID != 0 {
		b = appendID(b, tSpanParentSpanID, s.ParentID)
		if s.RemoteParent {
			flags |= flagIsRemote
		}
	}
	b = appendString(b, tSpanName, s.Name)
	b = appendTag(b, tSpanKind)
	b = appendVarint(b, uint64(spanKind(s.Kind)))
	b = appendTime(b, tSpanStart, s.Start)
	b = appendTime(b, tSpanEnd, s.End)
	for _, a := range s.Attrs {
		b = e.keyValue(b, tSpanAttributes, a.Key, a.Value)
	}
	for i := range s.Events {
		ev := &s.Events[i]
		var me mark
		b, me = openMsg(b, tSpanEvents, 1)
		b = appendTime(b, tEventTime, ev.Time)
		b = appendString(b, tEventName, ev.Message)
		level := true // a "level" attribute unless the event has a field of that name
		for _, a := range ev.Attrs {
			if a.Key == "level" {
				level = false
			}
			b = e.keyValue(b, tEventAttributes, a.Key, a.Value)
		}
		if level {
			b = e.keyValue(b, tEventAttributes, "level", slog.StringValue(ev.Level.String()))
		}
		b = closeMsg(b, me)
	}
	// A snapshot's events past the per-span limit were dropped; uint32 is plenty.
	if d := uint64(min(max(s.DroppedEvents, 0), math.MaxUint32)); d != 0 {
		b = appendTag(b, tSpanDroppedEvents)
		b = appendVarint(b, d)
	}
	for _, l := range s.Links {
		ltid, _ := spanexport.TraceID128(l.TraceID)
		var ml mark
		b, ml = openMsg(b, tSpanLinks, 1)
		b = appendBytes(b, tLinkTraceID, ltid[:])
		b = appendID(b, tLinkSpanID, uint64(l.SpanID))
		b = appendTag(b, tLinkFlags)
		b = protowire.AppendFixed32(b, flagSampled|flagHasIsRemote)
		b = closeMsg(b, ml)
	}
	if s.Status != spanexport.StatusUnset {
		var ms mark
		b, ms = openMsg(b, tSpanStatus, 1)
		code := tracepb.Status_STATUS_CODE_OK
		if s.Status == spanexport.StatusError {
			code = tracepb.Status_STATUS_CODE_ERROR
			b = appendString(b, tStatusMessage, s.StatusMessage)
		}
		b = appendTag(b, tStatusCode)
		b = appendVarint(b, uint64(code))
		b = closeMsg(b, ms)
	}
	b = appendTag(b, tSpanFlags)
	b = protowire.AppendFixed32(b, flags)
	return closeMsg(b, m)
}

// keyValue appends a KeyValue field: the key, and the value typed by its kind (see the
// package documentation).
func (e *encoder) keyValue(b []byte, t tag, key string, v slog.Value) []byte {
	b, kv := openMsg(b, t, 1)
	b = appendString(b, tKeyValueKey, key)
	b, av := openMsg(b, tKeyValueValue, 1)
	switch v.Kind() {
	case slog.KindString:
		b = appendStringAlways(b, tAnyString, v.String())
	case slog.KindInt64:
		b = appendInt(b, v.Int64())
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			b = appendInt(b, int64(u))
		} else {
			e.scratch = strconv.AppendUint(e.scratch[:0], u, 10)
			b = appendTag(b, tAnyString)
			b = protowire.AppendBytes(b, e.scratch)
		}
	case slog.KindFloat64:
		b = appendTag(b, tAnyDouble)
		b = protowire.AppendFixed64(b, math.Float64bits(v.Float64()))
	case slog.KindBool:
		b = appendTag(b, tAnyBool)
		b = appendVarint(b, protowire.EncodeBool(v.Bool()))
	case slog.KindDuration:
		b = appendInt(b, v.Duration().Nanoseconds())
	case slog.KindTime:
		e.scratch = v.Time().AppendFormat(e.scratch[:0], time.RFC3339Nano)
		b = appendTag(b, tAnyString)
		b = protowire.AppendBytes(b, e.scratch)
	default: // spanexport made Any, Group and LogValuer values text already
		b = appendStringAlways(b, tAnyString, v.Resolve().String())
	}
	b = closeMsg(b, av)
	return closeMsg(b, kv)
}

// openMsg appends the tag of the message field num and room for its length: reserve bytes,
// its likely varint size. It returns where the room starts, for closeMsg.
func openMsg(b []byte, t tag, reserve int) ([]byte, mark) {
	b = appendTag(b, t)
	at := len(b)
	return append(b, zeros[:reserve]...), mark{at, reserve}
}

// mark is where a message's length goes, and the room reserved for it.
type mark struct{ at, reserve int }

// closeMsg writes the length of the message opened at m (openMsg's second result), moving
// its fields when the length takes more or fewer bytes than reserved.
func closeMsg(b []byte, m mark) []byte {
	at, reserve := m.at, m.reserve
	n := len(b) - at - reserve
	if reserve == 1 && n < 0x80 {
		b[at] = byte(n)
		return b
	}
	return closeLonger(b, at, reserve, n)
}

// closeLonger is closeMsg for a length of more than one byte, or another size than the
// room reserved.
func closeLonger(b []byte, at, reserve, n int) []byte {
	size := protowire.SizeVarint(uint64(n))
	if size != reserve {
		if size > reserve {
			b = append(b, zeros[:size-reserve]...)
		}
		copy(b[at+size:], b[at+reserve:at+reserve+n])
		b = b[:at+size+n]
	}
	switch {
	case size == 1:
		b[at] = byte(n)
	case size == 2:
		b[at], b[at+1] = byte(n)|0x80, byte(n>>7)
	default:
		protowire.AppendVarint(b[:at], uint64(n)) // in place: the room is there
	}
	return b
}

var zeros [8]byte

// appendTag appends a field's tag, inlined.
func appendTag(b []byte, t tag) []byte {
	return appendVarint(b, uint64(t))
}

// appendVarint is protowire.AppendVarint, inlined for the one-byte values (tags,
// short lengths, kinds) that are most of what is written.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// appendString appends a string field unless it is empty (proto3 leaves zero values
// out), with invalid UTF-8 replaced: protobuf strings must be valid UTF-8, and one bad
// field must not lose a batch.
func appendString(b []byte, t tag, s string) []byte {
	if s == "" {
		return b
	}
	return appendStringAlways(b, t, s)
}

// appendStringAlways appends a string field, also when empty (a oneof member).
func appendStringAlways(b []byte, t tag, s string) []byte {
	if utf8.ValidString(s) {
		b = appendTag(b, t)
		b = appendVarint(b, uint64(len(s)))
		return append(b, s...)
	}
	b, m := openMsg(b, t, 1)
	return closeMsg(appendValidUTF8(b, s), m)
}

// appendValidUTF8 appends s with each run of invalid bytes replaced by U+FFFD, as
// strings.ToValidUTF8(s, "\uFFFD") does.
func appendValidUTF8(b []byte, s string) []byte {
	invalid := false
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			b = append(b, c)
			i++
			invalid = false
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		if w == 1 {
			if !invalid {
				b = append(b, "\uFFFD"...)
				invalid = true
			}
			i++
			continue
		}
		b = append(b, s[i:i+w]...)
		i += w
		invalid = false
	}
	return b
}

// appendBytes appends a bytes field unless it is empty.
func appendBytes(b []byte, t tag, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendTag(b, t)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendID appends a span id: 8 bytes, big-endian.
func appendID(b []byte, t tag, id uint64) []byte {
	b = appendTag(b, t)
	b = appendVarint(b, 8)
	return binary.BigEndian.AppendUint64(b, id)
}

// appendTime appends a fixed64 time in Unix nanoseconds, left out when zero (or before
// 1970, which OTLP cannot say).
func appendTime(b []byte, t tag, at time.Time) []byte {
	n := unixNano(at)
	if n == 0 {
		return b
	}
	b = appendTag(b, t)
	return protowire.AppendFixed64(b, n)
}

// appendInt appends AnyValue.int_value.
func appendInt(b []byte, n int64) []byte {
	b = appendTag(b, tAnyInt)
	return appendVarint(b, uint64(n))
}

func spanKind(k spanexport.Kind) tracepb.Span_SpanKind {
	switch k {
	case spanexport.KindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case spanexport.KindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	case spanexport.KindProducer:
		return tracepb.Span_SPAN_KIND_PRODUCER
	case spanexport.KindConsumer:
		return tracepb.Span_SPAN_KIND_CONSUMER
	}
	return tracepb.Span_SPAN_KIND_INTERNAL // unspecified too, as the SDKs do
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	if n := t.UnixNano(); n > 0 {
		return uint64(n)
	}
	return 0
}
