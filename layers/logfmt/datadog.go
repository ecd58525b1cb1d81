package logfmt

import (
	"encoding/binary"

	"github.com/strata-go/strata/registry"
)

// The keys [WithDatadog] writes. A field of an event or span with one of these keys is
// written as fields.<key>, with or without the option, so that a line never holds a
// key twice.
const (
	KeyDatadogTraceID = "dd.trace_id"
	KeyDatadogSpanID  = "dd.span_id"
	KeyDatadogService = "dd.service"
	KeyDatadogEnv     = "dd.env"
	KeyDatadogVersion = "dd.version"
)

// WithDatadog adds Datadog's log correlation keys, so that Datadog's log pipeline joins
// lines to traces: dd.trace_id and dd.span_id, in Datadog's decimal form, on every line
// inside a span (span lines and event lines), and dd.service, dd.env and dd.version (the
// non-empty ones) on every line. dd.trace_id is the lower 64 bits of the 128-bit
// trace id the line's trace_id shows (the id the Datadog layer, layers/datadog, exports
// as trace_id, its upper half in _dd.p.tid); dd.span_id is the span's id, the span=
// key's value. They follow trace_id on the line. Pass the service, env and version the
// Datadog layer uses.
func WithDatadog(service, env, version string) Option {
	return func(l *Layer) {
		var b []byte
		for _, kv := range [...][2]string{{KeyDatadogService, service}, {KeyDatadogEnv, env}, {KeyDatadogVersion, version}} {
			if kv[1] == "" {
				continue
			}
			b = append(b, ' ')
			b = append(b, kv[0]...)
			b = append(b, '=')
			b = appendString(b, kv[1])
		}
		l.datadog = true
		l.ddTags = b
	}
}

// appendDatadog appends the correlation keys of a line with the given trace and span
// (zero when the line is in no span).
func (l *Layer) appendDatadog(b []byte, trace registry.TraceID, span registry.SpanID) []byte {
	if !trace.IsZero() && span != 0 {
		id, _ := trace.Bytes128()
		b = append(b, " "+KeyDatadogTraceID+"="...)
		b = appendUint(b, binary.BigEndian.Uint64(id[8:]))
		b = append(b, " "+KeyDatadogSpanID+"="...)
		b = appendUint(b, uint64(span))
	}
	return append(b, l.ddTags...)
}

// isDatadogKey reports whether key is one of the keys WithDatadog writes.
func isDatadogKey(key string) bool {
	switch key {
	case KeyDatadogTraceID, KeyDatadogSpanID, KeyDatadogService, KeyDatadogEnv, KeyDatadogVersion:
		return true
	}
	return false
}
