package otlp

// The encoder this package had before it wrote the wire format directly: it builds the
// generated OTLP message objects and marshals them with proto.Marshal. It is kept here,
// unchanged but for its names, as the reference the direct encoder is compared with
// (the_direct_encoder_writes_what_proto_marshal_writes_test.go).

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/internal/spanexport"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// refSlab hands out values of T from memory reused between batches. A pointer it gave stays
// valid until reset, also when the refSlab grows (it then points into the older array).
type refSlab[T any] struct{ s []T }

func (b *refSlab[T]) next() *T {
	if len(b.s) < cap(b.s) {
		b.s = b.s[:len(b.s)+1]
	} else {
		var zero T
		b.s = append(b.s, zero)
	}
	return &b.s[len(b.s)-1]
}

// reset forgets what the refSlab handed out, releasing what it referenced.
func (b *refSlab[T]) reset() {
	clear(b.s)
	b.s = b.s[:0]
}

// refEncoder turns batches of spans into the bytes of an ExportTraceServiceRequest (whose
// encoding is that of TracesData: one repeated ResourceSpans field, number 1). It is
// used by the pipeline's goroutine only, and reuses its memory from batch to batch.
type refEncoder struct {
	resource *resourcepb.Resource // built once, read-only

	req    tracepb.TracesData
	rs     tracepb.ResourceSpans
	rsPtr  [1]*tracepb.ResourceSpans
	scopes refSlab[tracepb.ScopeSpans]
	insts  refSlab[commonpb.InstrumentationScope]
	scopeP []*tracepb.ScopeSpans
	index  map[string]int // target -> scope, per batch
	ofSpan []int          // scope of batch[i]

	spans   refSlab[tracepb.Span]
	spanP   []*tracepb.Span
	status  refSlab[tracepb.Status]
	events  refSlab[tracepb.Span_Event]
	eventP  []*tracepb.Span_Event
	links   refSlab[tracepb.Span_Link]
	linkP   []*tracepb.Span_Link
	kvs     refSlab[commonpb.KeyValue]
	kvP     []*commonpb.KeyValue
	anys    refSlab[commonpb.AnyValue]
	strs    refSlab[commonpb.AnyValue_StringValue]
	ints    refSlab[commonpb.AnyValue_IntValue]
	doubles refSlab[commonpb.AnyValue_DoubleValue]
	bools   refSlab[commonpb.AnyValue_BoolValue]
	ids     []byte

	buf []byte
}

func newRefEncoder(resource []slog.Attr) *refEncoder {
	e := &refEncoder{index: make(map[string]int)}
	res := &resourcepb.Resource{}
	for _, a := range resource {
		res.Attributes = append(res.Attributes, &commonpb.KeyValue{Key: refValidUTF8(a.Key), Value: newRefAnyValue(a.Value)})
	}
	e.resource = res
	return e
}

// encode returns the request for batch, valid until the next call.
func (e *refEncoder) encode(batch []*spanexport.Span) ([]byte, error) {
	e.build(batch)
	var err error
	e.buf, err = proto.MarshalOptions{}.MarshalAppend(e.buf[:0], &e.req)
	e.release()
	if cap(e.buf) > 16<<20 {
		defer func() { e.buf = nil }() // one huge batch does not pin its memory
	}
	return e.buf, err
}

// build fills e.req from batch.
func (e *refEncoder) build(batch []*spanexport.Span) {
	// The ids of the batch, in one array sized up front so that the slices into it stay
	// put: 32 bytes per span (trace, span, parent), 24 per link.
	n := 0
	for _, s := range batch {
		n += 32 + 24*len(s.Links)
	}
	if cap(e.ids) < n {
		e.ids = make([]byte, 0, n)
	}
	e.ids = e.ids[:0]

	// One ScopeSpans per target, in order of first appearance.
	clear(e.index)
	e.ofSpan = e.ofSpan[:0]
	var counts []int
	for _, s := range batch {
		i, ok := e.index[s.Target]
		if !ok {
			i = len(e.index)
			e.index[s.Target] = i
			ss := e.scopes.next()
			inst := e.insts.next()
			*inst = commonpb.InstrumentationScope{Name: refValidUTF8(s.Target)}
			*ss = tracepb.ScopeSpans{Scope: inst}
		}
		e.ofSpan = append(e.ofSpan, i)
	}
	counts = make([]int, len(e.index)+1)
	for _, i := range e.ofSpan {
		counts[i+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1] // counts[i]: where scope i's spans start in spanP
	}
	e.spanP = append(e.spanP[:0], make([]*tracepb.Span, len(batch))...)
	next := counts[: len(counts)-1 : len(counts)-1]
	for k, s := range batch {
		i := e.ofSpan[k]
		e.spanP[next[i]] = e.span(s)
		next[i]++
	}
	e.scopeP = e.scopeP[:0]
	start := 0
	for i := range e.scopes.s {
		end := next[i]
		e.scopes.s[i].Spans = e.spanP[start:end:end]
		e.scopeP = append(e.scopeP, &e.scopes.s[i])
		start = end
	}
	e.rs = tracepb.ResourceSpans{Resource: e.resource, ScopeSpans: e.scopeP}
	e.rsPtr[0] = &e.rs
	e.req = tracepb.TracesData{ResourceSpans: e.rsPtr[:]}
}

// release forgets the batch's values (strings the user logged) once it is encoded.
func (e *refEncoder) release() {
	e.req = tracepb.TracesData{}
	e.rs = tracepb.ResourceSpans{}
	e.rsPtr[0] = nil
	for _, s := range []interface{ reset() }{&e.scopes, &e.insts, &e.spans, &e.status, &e.events, &e.links, &e.kvs, &e.anys, &e.strs, &e.ints, &e.doubles, &e.bools} {
		s.reset()
	}
	clear(e.scopeP)
	clear(e.spanP)
	clear(e.eventP)
	clear(e.linkP)
	clear(e.kvP)
	e.scopeP, e.spanP, e.eventP, e.linkP, e.kvP = e.scopeP[:0], e.spanP[:0], e.eventP[:0], e.linkP[:0], e.kvP[:0]
}

// id appends an id's bytes to e.ids and returns them.
func (e *refEncoder) traceID(t [16]byte) []byte {
	off := len(e.ids)
	e.ids = append(e.ids, t[:]...)
	return e.ids[off:len(e.ids):len(e.ids)]
}

func (e *refEncoder) spanID(id uint64) []byte {
	off := len(e.ids)
	e.ids = binary.BigEndian.AppendUint64(e.ids, id)
	return e.ids[off:len(e.ids):len(e.ids)]
}

func (e *refEncoder) span(s *spanexport.Span) *tracepb.Span {
	tid, _ := spanexport.TraceID128(s.TraceID)
	p := e.spans.next()
	*p = tracepb.Span{
		TraceId:           e.traceID(tid),
		SpanId:            e.spanID(uint64(s.SpanID)),
		Flags:             flagSampled | flagHasIsRemote,
		Name:              refValidUTF8(s.Name),
		Kind:              refSpanKind(s.Kind),
		StartTimeUnixNano: refUnixNano(s.Start),
		EndTimeUnixNano:   refUnixNano(s.End),
		Attributes:        e.attrs(s.Attrs, ""),
		// A snapshot's events past the per-span limit were dropped; int32 is plenty.
		DroppedEventsCount: uint32(min(max(s.DroppedEvents, 0), math.MaxUint32)),
	}
	if s.ParentID != 0 {
		p.ParentSpanId = e.spanID(s.ParentID)
		if s.RemoteParent {
			p.Flags |= flagIsRemote
		}
	}
	if s.Status != spanexport.StatusUnset {
		st := e.status.next()
		*st = tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
		if s.Status == spanexport.StatusError {
			*st = tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: refValidUTF8(s.StatusMessage)}
		}
		p.Status = st
	}
	if len(s.Events) > 0 {
		off := len(e.eventP)
		for i := range s.Events {
			ev := &s.Events[i]
			pe := e.events.next()
			*pe = tracepb.Span_Event{
				TimeUnixNano: refUnixNano(ev.Time),
				Name:         refValidUTF8(ev.Message),
				Attributes:   e.attrs(ev.Attrs, ev.Level.String()),
			}
			e.eventP = append(e.eventP, pe)
		}
		p.Events = e.eventP[off:len(e.eventP):len(e.eventP)]
	}
	if len(s.Links) > 0 {
		off := len(e.linkP)
		for _, l := range s.Links {
			ltid, _ := spanexport.TraceID128(l.TraceID)
			pl := e.links.next()
			*pl = tracepb.Span_Link{
				TraceId: e.traceID(ltid),
				SpanId:  e.spanID(uint64(l.SpanID)),
				Flags:   flagSampled | flagHasIsRemote,
			}
			e.linkP = append(e.linkP, pl)
		}
		p.Links = e.linkP[off:len(e.linkP):len(e.linkP)]
	}
	return p
}

// attrs converts attributes; with level != "" (an event's), a "level" attribute is
// added unless the event has a field of that name.
func (e *refEncoder) attrs(attrs []slog.Attr, level string) []*commonpb.KeyValue {
	if len(attrs) == 0 && level == "" {
		return nil
	}
	off := len(e.kvP)
	for _, a := range attrs {
		if a.Key == "level" {
			level = ""
		}
		kv := e.kvs.next()
		*kv = commonpb.KeyValue{Key: refValidUTF8(a.Key), Value: e.value(a.Value)}
		e.kvP = append(e.kvP, kv)
	}
	if level != "" {
		kv := e.kvs.next()
		*kv = commonpb.KeyValue{Key: "level", Value: e.value(slog.StringValue(level))}
		e.kvP = append(e.kvP, kv)
	}
	return e.kvP[off:len(e.kvP):len(e.kvP)]
}

// value converts a field's value, typed by its kind (see the package documentation).
func (e *refEncoder) value(v slog.Value) *commonpb.AnyValue {
	av := e.anys.next()
	str := func(s string) {
		sv := e.strs.next()
		sv.StringValue = refValidUTF8(s)
		*av = commonpb.AnyValue{Value: sv}
	}
	integer := func(n int64) {
		iv := e.ints.next()
		iv.IntValue = n
		*av = commonpb.AnyValue{Value: iv}
	}
	switch v.Kind() {
	case slog.KindString:
		str(v.String())
	case slog.KindInt64:
		integer(v.Int64())
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			integer(int64(u))
		} else {
			str(strconv.FormatUint(u, 10))
		}
	case slog.KindFloat64:
		dv := e.doubles.next()
		dv.DoubleValue = v.Float64()
		*av = commonpb.AnyValue{Value: dv}
	case slog.KindBool:
		bv := e.bools.next()
		bv.BoolValue = v.Bool()
		*av = commonpb.AnyValue{Value: bv}
	case slog.KindDuration:
		integer(v.Duration().Nanoseconds())
	case slog.KindTime:
		str(v.Time().Format(time.RFC3339Nano))
	default: // spanexport made Any, Group and LogValuer values text already
		str(v.Resolve().String())
	}
	return av
}

// newRefAnyValue converts a resource attribute's value, allocating.
func newRefAnyValue(v slog.Value) *commonpb.AnyValue {
	var e refEncoder
	return e.value(v.Resolve())
}

func refSpanKind(k spanexport.Kind) tracepb.Span_SpanKind {
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

func refUnixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	if n := t.UnixNano(); n > 0 {
		return uint64(n)
	}
	return 0
}

// refValidUTF8 returns s with invalid UTF-8 replaced: protobuf strings must be valid UTF-8,
// and one bad field must not lose a batch.
func refValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
