package subscriber

import (
	"log/slog"
	"reflect"
)

// Serving is implemented by a layer that exists to serve the layers composed with it
// (storage keeps the fields that logfmt, metrics and the exporters read). Such a layer
// wants no more than the layers it serves: it sees a span or an event exactly when at
// least one other layer enabled it (and its own filter, if any, passes). It therefore
// never lowers the dispatch's level floor: with storage composed unfiltered next to a
// logfmt layer filtered at INFO, a DEBUG span or event still costs nothing.
type Serving interface {
	ServesOthers() bool
}

// FieldWanter is implemented by a layer that wants spans and events for the fields they
// carry rather than for their level: the metrics layer wants every span that carries a
// metric_* field, at any level, and nothing else. WantedFields returns key prefixes, one
// list for spans and one for events (nil: none of that kind).
//
// The dispatch decides for such a layer itself: it is enabled for a span (event) when
// one of the span's start fields (the event's fields) has a key with one of the
// prefixes, and its per-layer filter, if any, passes. Its own [Enabler], if any, is not
// consulted. A FieldWanter does not lower the dispatch's level floor: a call below every
// other layer's level only scans its field keys for the prefixes, which costs a few
// nanoseconds and allocates nothing.
//
// Only the fields given at start count for a span: a span that gets its first matching
// field through [Span.Record] was not enabled for the layer when it started.
type FieldWanter interface {
	WantedFields() (span, event []string)
}

// IsErrorValue reports whether v, the value of an error field ("error", "error.message",
// ...), names an actual error. A nil value, a nil error (also a typed nil pointer), an
// empty string and the boolean false do not: slog.Any("error", err) with a nil err must
// not mark a span failed.
func IsErrorValue(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString:
		return v.String() != ""
	case slog.KindBool:
		return v.Bool()
	case slog.KindAny:
		a := v.Any()
		if a == nil {
			return false
		}
		switch x := a.(type) {
		case error:
			return !isNilPointer(x)
		case string:
			return x != ""
		case []byte:
			return len(x) != 0
		case interface{ String() string }:
			return !isNilPointer(x)
		}
		return !isNilPointer(a)
	case slog.KindLogValuer:
		return IsErrorValue(v.Resolve())
	case slog.KindGroup:
		return len(v.Group()) != 0
	}
	return true
}

// isNilPointer reports whether a holds a nil pointer, map, slice, func, chan or
// interface: a typed nil, which an interface comparison with nil misses.
func isNilPointer(a any) bool {
	rv := reflect.ValueOf(a)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
