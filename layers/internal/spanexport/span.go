// Package spanexport is what the span exporters (Jaeger, OTLP, Datadog) share above the
// pipeline: the layer hooks that turn a closed span into a [Span] snapshot, with its
// events and follows-from links, and hand it to a [pipeline.Pipeline] whose Sender
// encodes the batch in the exporter's wire format. The hooks never block and never
// encode: encoding happens on the pipeline's goroutine.
package spanexport

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// Kind is a span's kind, from its otel.kind field.
type Kind uint8

// The span kinds of OpenTelemetry; KindUnspecified when the span has no otel.kind.
const (
	KindUnspecified Kind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

// String returns the kind's lowercase OpenTelemetry name ("server"), or "" for
// KindUnspecified.
func (k Kind) String() string {
	switch k {
	case KindInternal:
		return "internal"
	case KindServer:
		return "server"
	case KindClient:
		return "client"
	case KindProducer:
		return "producer"
	case KindConsumer:
		return "consumer"
	}
	return ""
}

// ParseKind reads an otel.kind value, case-insensitively; anything else is
// KindUnspecified.
func ParseKind(s string) Kind {
	switch {
	case strings.EqualFold(s, "server"):
		return KindServer
	case strings.EqualFold(s, "client"):
		return KindClient
	case strings.EqualFold(s, "producer"):
		return KindProducer
	case strings.EqualFold(s, "consumer"):
		return KindConsumer
	case strings.EqualFold(s, "internal"):
		return KindInternal
	}
	return KindUnspecified
}

// Status is a span's outcome.
type Status uint8

// The statuses of OpenTelemetry.
const (
	StatusUnset Status = iota
	StatusOK
	StatusError
)

// Event is an event logged inside a span.
type Event struct {
	Time    time.Time
	Level   subscriber.Level
	Message string
	// Attrs are the event's fields, values of kind Any already turned into strings.
	Attrs []slog.Attr
}

// Link is a follows-from link to another span.
type Link struct {
	TraceID registry.TraceID
	SpanID  registry.SpanID
}

// Span is a closed span as the exporters see it: a copy that holds nothing of the
// registry's record, safe to read on any goroutine.
type Span struct {
	TraceID registry.TraceID
	SpanID  registry.SpanID
	// ParentID is the parent's span id: the nearest ancestor in this process that the
	// exporter saw, or the remote parent's 64-bit id ([subscriber.RemoteParent].SpanID)
	// for a span continuing a trace from another process; 0 for a root.
	ParentID uint64
	// RemoteParent reports that ParentID is a span in another process.
	RemoteParent bool
	// Name is the span's name, or its otel.name field.
	Name string
	// Target is the tracer's target (a package path), for the instrumentation scope.
	Target string
	Kind   Kind
	Start  time.Time
	End    time.Time
	Status Status
	// StatusMessage is the error's text for a failed span (the error it ended with, its
	// error field, or otel.status_message).
	StatusMessage string
	// Attrs are the span's own fields but the internal ones (otel.*, metric_*), values
	// of kind Any already turned into strings.
	Attrs  []slog.Attr
	Events []Event
	Links  []Link
	// DroppedEvents counts the events beyond the per-span limit.
	DroppedEvents int
}

// reset clears s for reuse, keeping its slices' memory.
func (s *Span) reset() {
	clear(s.Attrs)
	for i := range s.Events {
		clear(s.Events[i].Attrs)
		s.Events[i] = Event{}
	}
	attrs, events, links := s.Attrs[:0], s.Events[:0], s.Links[:0]
	*s = Span{Attrs: attrs, Events: events, Links: links}
}

// OriginalTraceIDKey is the attribute that carries a trace id received from upstream in
// a form that is not 128-bit hex, on the spans of such a trace.
const OriginalTraceIDKey = "strata.trace_id.original"

// TraceID128 returns the 128-bit form of a trace id, as the exporters write it
// ([registry.TraceID.Bytes128] has the rule), and the upstream id it was mapped from
// ("" for an id that is 128-bit hex already).
func TraceID128(t registry.TraceID) (id [16]byte, original string) {
	id, mapped := t.Bytes128()
	if mapped {
		original = t.String()
	}
	return id, original
}

// isInternal reports whether a field key is Strata's own (otel.*, metric_*), left out
// of the exported attributes.
func isInternal(k string) bool {
	return strings.HasPrefix(k, "otel.") || strings.HasPrefix(k, "metric_") || k == ""
}

// copyValue returns v safe to read on another goroutine later: a value of kind Any (it
// may point to memory the caller changes) becomes its text.
func copyValue(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindAny:
		a := v.Any()
		if err, ok := a.(error); ok {
			return slog.StringValue(err.Error())
		}
		return slog.StringValue(fmt.Sprint(a))
	case slog.KindGroup, slog.KindLogValuer:
		return slog.StringValue(v.Resolve().String())
	}
	return v
}
