package metrics

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// sanitizeMetricName makes s a valid Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*:
// every other character (each rune, or each byte of invalid UTF-8) becomes '_', and a
// leading digit gets a '_' in front. It returns s itself, without allocating, when s is
// already valid, and "" for an empty s.
func sanitizeMetricName(s string) string {
	return sanitizeName(s, true)
}

// sanitizeLabelName makes s a valid Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*, the
// same way. Names starting with "__" are reserved for Prometheus itself, so they get an
// "exported" prefix; an empty name becomes "_".
func sanitizeLabelName(s string) string {
	n := sanitizeName(s, false)
	switch {
	case n == "":
		return "_"
	case strings.HasPrefix(n, "__"):
		return "exported" + n
	}
	return n
}

func sanitizeName(s string, colon bool) string {
	if validName(s, colon) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || colon && r == ':':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func validName(s string, colon bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || colon && c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// escapeLabelValue returns s as it goes between the quotes of a label value in the
// Prometheus text format: invalid UTF-8 replaced by U+FFFD, then backslash, double quote
// and line feed escaped as \\, \" and \n (the only escapes the format defines).
func escapeLabelValue(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// labelPair is one label of a series: a valid name and an escaped value.
type labelPair struct {
	name, value string
}

// formatLabels returns the canonical label set `{a="x",b="y"}`: sorted by name, and for
// a name given twice (two keys that sanitize to the same name) the later pair wins, so
// the exposition never holds a duplicate label.
func formatLabels(pairs []labelPair) string {
	slices.SortStableFunc(pairs, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].name == p.name {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(p.name)
		b.WriteString(`="`)
		b.WriteString(p.value)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// appendValueText appends the text of v, as it appears in a label value. Strings,
// numbers, booleans and times append without allocating; other values go through fmt.
func appendValueText(dst []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return append(dst, v.String()...)
	case slog.KindInt64:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(dst, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(dst, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(dst, v.Bool())
	case slog.KindDuration:
		return append(dst, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(dst, time.RFC3339Nano)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
			return dst
		case error:
			return append(dst, safeString(x.Error)...)
		case fmt.Stringer:
			return append(dst, safeString(x.String)...)
		}
		return fmt.Append(dst, v.Any())
	}
	return fmt.Append(dst, v.Any())
}

// safeString calls a user's Error or String method, turning a panic (a nil pointer with
// a value receiver, say) into a placeholder: user input never panics the layer.
func safeString(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = "!PANIC"
		}
	}()
	return f()
}

// valueText returns the text of v as a string.
func valueText(v slog.Value) string {
	if v.Kind() == slog.KindString {
		return v.String()
	}
	return string(appendValueText(nil, v))
}
