package subscriber

import "log/slog"

// appendAttrs appends attrs to dst the way every layer expects them: LogValuers
// resolved, groups flattened to dotted keys ("http" {method} becomes "http.method"),
// empty attributes dropped, as slog's handler rules say.
func appendAttrs(dst []slog.Attr, attrs []slog.Attr) []slog.Attr {
	plain := true
	for i := range attrs {
		switch attrs[i].Value.Kind() {
		case slog.KindLogValuer, slog.KindGroup, slog.KindAny:
			plain = false
		}
	}
	if plain { // the common case: one bulk copy
		return append(dst, attrs...)
	}
	for i := range attrs {
		switch attrs[i].Value.Kind() {
		case slog.KindLogValuer, slog.KindGroup, slog.KindAny:
			dst = appendAttr(dst, "", attrs[i])
		default: // the common case, a plain keyed value: copied as it is
			dst = append(dst, attrs[i])
		}
	}
	return dst
}

func appendAttr(dst []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	k := a.Value.Kind()
	if k == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
		k = a.Value.Kind()
	}
	if k == slog.KindGroup {
		group := a.Value.Group()
		if len(group) == 0 {
			return dst
		}
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range group {
			dst = appendAttr(dst, p, g)
		}
		return dst
	}
	if a.Key == "" && k == slog.KindAny && a.Value.Any() == nil {
		return dst // the empty Attr
	}
	if prefix != "" {
		a.Key = prefix + a.Key
	}
	return append(dst, a)
}
