package jaeger

import (
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/registry"
)

// The tags the layer adds to a span, beside its own fields.
const (
	tagSpanKind      = "span.kind"
	tagError         = "error"
	tagStatusCode    = "otel.status_code"
	tagStatusDesc    = "otel.status_description"
	tagScope         = "otel.scope.name"
	tagTruncated     = "strata.truncated"
	tagDroppedEvents = "strata.dropped_events"
	tagErrorMessage  = "error.message"
)

// tagHolder is a jaeger.Tag with room for the value its pointer fields point to, so
// that the encoder reuses one slice of them for every span.
type tagHolder struct {
	tag jaeger.Tag
	s   string
	d   float64
	b   bool
	l   int64
}

// spanEncoder turns spanexport spans into the Thrift compact encoding of jaeger.Span,
// reusing its memory from span to span. It is used by one goroutine at a time.
type spanEncoder struct {
	js      jaeger.Span
	tags    []tagHolder
	tagPtrs []*jaeger.Tag
	logs    []jaeger.Log
	logPtrs []*jaeger.Log
	refs    []jaeger.SpanRef
	refPtrs []*jaeger.SpanRef
}

// traceHalves splits a trace id into Jaeger's high and low halves.
func traceHalves(t registry.TraceID) (hi, lo int64) {
	id, _ := spanexport.TraceID128(t)
	return int64(binary.BigEndian.Uint64(id[:8])), int64(binary.BigEndian.Uint64(id[8:]))
}

// level says how much of a span to keep: all of it, all but its logs, or only what
// identifies it.
type level uint8

const (
	keepAll level = iota
	dropLogs
	dropTags
)

// countTags is the number of tags fill will write for s at keep, an upper bound.
func countTags(s *spanexport.Span, keep level) int {
	n := 6 // span.kind, scope, error, status code, status description, truncated
	if keep < dropTags {
		n += len(s.Attrs) + 1 // + dropped events
	}
	if keep < dropLogs {
		for i := range s.Events {
			n += len(s.Events[i].Attrs) + 2
		}
	}
	return n
}

// build fills e.js from s, keeping what keep says.
func (e *spanEncoder) build(s *spanexport.Span, keep level) *jaeger.Span {
	need := countTags(s, keep)
	if cap(e.tags) < need {
		e.tags = make([]tagHolder, 0, need)
		e.tagPtrs = make([]*jaeger.Tag, 0, need)
	}
	e.tags, e.tagPtrs = e.tags[:0], e.tagPtrs[:0]

	hi, lo := traceHalves(s.TraceID)
	js := &e.js
	*js = jaeger.Span{
		TraceIdHigh:   hi,
		TraceIdLow:    lo,
		SpanId:        int64(s.SpanID),
		ParentSpanId:  int64(s.ParentID),
		OperationName: s.Name,
		Flags:         1, // sampled
		StartTime:     s.Start.UnixMicro(),
		Duration:      max(0, s.End.Sub(s.Start).Microseconds()),
	}

	// References: CHILD_OF the parent (a remote one too), FOLLOWS_FROM each link.
	nrefs := len(s.Links)
	if s.ParentID != 0 {
		nrefs++
	}
	if cap(e.refs) < nrefs {
		e.refs = make([]jaeger.SpanRef, 0, nrefs)
		e.refPtrs = make([]*jaeger.SpanRef, 0, nrefs)
	}
	e.refs, e.refPtrs = e.refs[:0], e.refPtrs[:0]
	if s.ParentID != 0 {
		e.refs = append(e.refs, jaeger.SpanRef{RefType: jaeger.SpanRefType_CHILD_OF, TraceIdHigh: hi, TraceIdLow: lo, SpanId: int64(s.ParentID)})
	}
	for _, l := range s.Links {
		lhi, llo := traceHalves(l.TraceID)
		e.refs = append(e.refs, jaeger.SpanRef{RefType: jaeger.SpanRefType_FOLLOWS_FROM, TraceIdHigh: lhi, TraceIdLow: llo, SpanId: int64(l.SpanID)})
	}
	for i := range e.refs {
		e.refPtrs = append(e.refPtrs, &e.refs[i])
	}
	if len(e.refPtrs) > 0 {
		js.References = e.refPtrs
	}

	// Tags.
	if k := s.Kind.String(); k != "" {
		e.str(tagSpanKind, k)
	}
	if s.Target != "" && keep < dropTags {
		e.str(tagScope, s.Target)
	}
	switch s.Status {
	case spanexport.StatusError:
		e.boolean(tagError, true)
		e.str(tagStatusCode, "ERROR")
		if s.StatusMessage != "" && keep < dropTags {
			e.str(tagStatusDesc, s.StatusMessage)
		}
	case spanexport.StatusOK:
		e.str(tagStatusCode, "OK")
	}
	if keep < dropTags {
		for _, a := range s.Attrs {
			if a.Key == tagError {
				// The span's error field: its text is the status description already;
				// a different text goes as error.message, so that the error tag stays
				// the boolean Jaeger's UI and the OpenTelemetry translators read.
				if txt := a.Value.String(); txt != s.StatusMessage {
					e.str(tagErrorMessage, txt)
				}
				continue
			}
			e.attr(a.Key, a.Value)
		}
		if s.DroppedEvents > 0 {
			e.long(tagDroppedEvents, int64(s.DroppedEvents))
		}
	}
	if keep > keepAll {
		e.boolean(tagTruncated, true)
	}
	js.Tags = e.tagPtrs[:len(e.tagPtrs):len(e.tagPtrs)]

	// Logs: each event, its message as "event", then "level" and its fields.
	if keep == keepAll && len(s.Events) > 0 {
		if cap(e.logs) < len(s.Events) {
			e.logs = make([]jaeger.Log, 0, len(s.Events))
			e.logPtrs = make([]*jaeger.Log, 0, len(s.Events))
		}
		e.logs, e.logPtrs = e.logs[:0], e.logPtrs[:0]
		for i := range s.Events {
			ev := &s.Events[i]
			from := len(e.tagPtrs)
			e.str("event", ev.Message)
			e.str("level", ev.Level.String())
			for _, a := range ev.Attrs {
				e.attr(a.Key, a.Value)
			}
			e.logs = append(e.logs, jaeger.Log{Timestamp: ev.Time.UnixMicro(), Fields: e.tagPtrs[from:len(e.tagPtrs):len(e.tagPtrs)]})
		}
		for i := range e.logs {
			e.logPtrs = append(e.logPtrs, &e.logs[i])
		}
		js.Logs = e.logPtrs
	}
	return js
}

// next returns the next tag holder. build sizes e.tags for the whole span, so that the
// holders are reused from span to span; should it run out, a new array is started
// (the tags already taken stay valid in the old one).
func (e *spanEncoder) next(key string, t jaeger.TagType) *tagHolder {
	if len(e.tags) == cap(e.tags) {
		e.tags = make([]tagHolder, 0, 2*cap(e.tags)+8)
	}
	e.tags = e.tags[:len(e.tags)+1]
	h := &e.tags[len(e.tags)-1]
	*h = tagHolder{tag: jaeger.Tag{Key: key, VType: t}}
	e.tagPtrs = append(e.tagPtrs, &h.tag)
	return h
}

func (e *spanEncoder) str(key, v string) {
	h := e.next(key, jaeger.TagType_STRING)
	h.s = v
	h.tag.VStr = &h.s
}

func (e *spanEncoder) boolean(key string, v bool) {
	h := e.next(key, jaeger.TagType_BOOL)
	h.b = v
	h.tag.VBool = &h.b
}

func (e *spanEncoder) long(key string, v int64) {
	h := e.next(key, jaeger.TagType_LONG)
	h.l = v
	h.tag.VLong = &h.l
}

func (e *spanEncoder) double(key string, v float64) {
	h := e.next(key, jaeger.TagType_DOUBLE)
	h.d = v
	h.tag.VDouble = &h.d
}

// attr writes a field as a tag typed from its kind: strings as STRING, signed and
// unsigned integers as LONG (an unsigned one above MaxInt64 as its decimal STRING),
// floats as DOUBLE, booleans as BOOL, durations as STRING in Go's form ("1.5s"),
// times as STRING in RFC 3339 with nanoseconds, anything else as its text.
func (e *spanEncoder) attr(key string, v slog.Value) {
	switch v.Kind() {
	case slog.KindString:
		e.str(key, v.String())
	case slog.KindInt64:
		e.long(key, v.Int64())
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			e.long(key, int64(u))
		} else {
			e.str(key, strconv.FormatUint(u, 10))
		}
	case slog.KindFloat64:
		e.double(key, v.Float64())
	case slog.KindBool:
		e.boolean(key, v.Bool())
	case slog.KindDuration:
		e.str(key, v.Duration().String())
	case slog.KindTime:
		e.str(key, v.Time().Format(time.RFC3339Nano))
	default:
		e.str(key, v.Resolve().String())
	}
}
