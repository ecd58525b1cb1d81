package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/strata-go/strata/subscriber"
)

// reserved are the characters that structure a directive; they cannot appear bare in a
// span name, a field name or a field value (a quoted value may hold anything).
const reserved = `[]{}=,"`

// ParseError is the error [Parse], [FromEnv], [FromEnvOr] and [Reloadable.SetDirectives]
// return for directives they cannot read. Its message names the directive, what is wrong
// with it and what was expected.
type ParseError struct {
	// Source says where the directives came from, such as "STRATA_LOG"; empty for Parse.
	Source string
	// Directive is the offending directive, as written (without surrounding spaces).
	Directive string
	// Reason says what is wrong and what was expected.
	Reason string
}

// Error returns "filter: [source: ]directive "...": reason".
func (e *ParseError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("filter: %s: directive %q: %s", e.Source, e.Directive, e.Reason)
	}
	return fmt.Sprintf("filter: directive %q: %s", e.Directive, e.Reason)
}

// Parse parses comma-separated env-filter directives, such as
// "info,songs/db=debug,songs/vendor=off" or "songs[HTTP request{http.method=POST}]=debug"
// (see the package documentation for the syntax and how directives match). Empty
// directives (",,", a trailing comma) are ignored; an empty string gives directives that
// enable nothing. The error is a *[ParseError] naming the first bad directive.
func Parse(s string) (*Directives, error) {
	d := &Directives{def: subscriber.LevelOff}
	staticAt := map[string]int{}
	dynamicAt := map[string]int{}
	for _, raw := range splitTop(s, ',', false) {
		text := strings.TrimSpace(raw)
		if text == "" {
			continue
		}
		p, err := parseDirective(text)
		if err != "" {
			return nil, &ParseError{Directive: text, Reason: err}
		}
		switch {
		case p.isDefault:
			d.def, d.hasDef = p.level, true
		case p.dynamic != nil:
			k := p.dynamic.key()
			if i, ok := dynamicAt[k]; ok {
				d.dynamic[i] = *p.dynamic
			} else {
				dynamicAt[k] = len(d.dynamic)
				d.dynamic = append(d.dynamic, *p.dynamic)
			}
		default:
			if i, ok := staticAt[p.target]; ok {
				d.static[i].level = p.level
			} else {
				staticAt[p.target] = len(d.static)
				d.static = append(d.static, staticDirective{target: p.target, level: p.level})
			}
		}
	}
	sortDirectives(d)
	return d, nil
}

// splitTop splits s at sep where sep is outside brackets, braces and quoted values.
// Quotes open a value only inside braces, or anywhere when inBraces is set.
func splitTop(s string, sep byte, inBraces bool) []string {
	var out []string
	sq, br, start := 0, 0, 0
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inQ {
			switch c {
			case '\\':
				i++
			case '"':
				inQ = false
			}
			continue
		}
		switch c {
		case '"':
			inQ = inBraces || br > 0
		case '[':
			sq++
		case ']':
			if sq > 0 {
				sq--
			}
		case '{':
			br++
		case '}':
			if br > 0 {
				br--
			}
		case sep:
			if sq == 0 && br == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

type parsed struct {
	isDefault bool
	target    string
	level     subscriber.Level
	dynamic   *dynamicDirective
}

const wantForm = "want target[span{field=value}]=level, target=level or a level"

// parseDirective parses one trimmed, non-empty directive; a non-empty string is the
// reason it is wrong.
func parseDirective(s string) (parsed, string) {
	// target: up to the first '[' or '='.
	i := strings.IndexAny(s, "[=")
	if i < 0 {
		i = len(s)
	}
	target := strings.TrimSpace(s[:i])
	if why := checkTarget(target); why != "" {
		return parsed{}, why
	}
	rest := s[i:]

	var (
		spanPart string
		hasSpan  bool
	)
	if strings.HasPrefix(rest, "[") {
		j, why := closingBracket(rest)
		if why != "" {
			return parsed{}, why
		}
		spanPart, hasSpan = rest[1:j], true
		rest = strings.TrimSpace(rest[j+1:])
	}

	level := subscriber.LevelTrace
	switch {
	case rest == "":
		if !hasSpan {
			// A bare word: a level sets the default, anything else is a target at TRACE.
			if l, err := subscriber.ParseLevel(target); err == nil {
				return parsed{isDefault: true, level: l}, ""
			}
		}
	case rest[0] == '=':
		name := strings.TrimSpace(rest[1:])
		if name == "" {
			return parsed{}, "missing level after '=' (want trace, debug, info, warn, error or off)"
		}
		if strings.Contains(name, "=") {
			return parsed{}, fmt.Sprintf("more than one '=' (%s)", wantForm)
		}
		l, err := subscriber.ParseLevel(name)
		if err != nil {
			return parsed{}, err.Error()
		}
		level = l
		if target == "" && !hasSpan {
			return parsed{}, "empty target before '=' (want target=level, or a bare level for the default)"
		}
	default:
		return parsed{}, fmt.Sprintf("unexpected %q after ']' (want =level or nothing)", rest)
	}

	if !hasSpan {
		return parsed{target: target, level: level}, ""
	}
	dd, why := parseSpan(spanPart)
	if why != "" {
		return parsed{}, why
	}
	dd.target, dd.hasTarget, dd.level = target, target != "", level
	return parsed{dynamic: dd}, ""
}

func checkTarget(t string) string {
	for _, r := range t {
		switch {
		case r == '{' || r == '}':
			return fmt.Sprintf("field filters must be inside span brackets (%s)", wantForm)
		case r == ']':
			return "']' without a matching '['"
		case r == ',' || r == '"':
			return fmt.Sprintf("target %q contains %q (%s)", t, r, wantForm)
		case unicode.IsSpace(r):
			return fmt.Sprintf("target %q contains a space (%s)", t, wantForm)
		}
	}
	return ""
}

const unterminatedQuote = "unterminated quoted field value (want {field=\"value\"})"

// skipQuoted returns the index of the quote that closes the quoted value starting at
// s[j] == '"', honouring backslash escapes, and false when the value is unterminated.
func skipQuoted(s string, j int) (int, bool) {
	for j++; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j, true
		}
	}
	return 0, false
}

// closingBracket returns the index in s (which starts with '[') of the matching ']',
// skipping brackets inside braces and quoted field values.
func closingBracket(s string) (int, string) {
	br := 0
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			if br > 0 {
				var ok bool
				if j, ok = skipQuoted(s, j); !ok {
					return 0, unterminatedQuote
				}
			}
		case '{':
			br++
		case '}':
			if br > 0 {
				br--
			}
		case ']':
			if br == 0 {
				return j, ""
			}
		}
	}
	if br > 0 {
		return 0, "unclosed '{' (want [span{field=value,...}])"
	}
	return 0, fmt.Sprintf("unclosed '[' (%s)", wantForm)
}

// parseSpan parses what is between the brackets: span name, fields, or both.
func parseSpan(s string) (*dynamicDirective, string) {
	dd := &dynamicDirective{}
	name := s
	fieldPart, hasFields := "", false
	if k := strings.IndexByte(s, '{'); k >= 0 {
		name = s[:k]
		end, why := closingBrace(s[k:])
		if why != "" {
			return nil, why
		}
		fieldPart, hasFields = s[k+1:k+end], true
		if tail := strings.TrimSpace(s[k+end+1:]); tail != "" {
			return nil, fmt.Sprintf("unexpected %q after '}' (want [span{field=value,...}])", tail)
		}
	}
	name = strings.TrimSpace(name)
	for _, r := range name {
		if strings.ContainsRune(reserved, r) {
			if r == '=' {
				return nil, fmt.Sprintf("span name %q contains '='; to match a field write [{%s}] or [span{%s}]", name, name, name)
			}
			return nil, fmt.Sprintf("span name %q contains %q (want [span name{field=value,...}])", name, r)
		}
	}
	dd.span = name
	if !hasFields {
		if name == "" {
			return nil, "empty span filter \"[]\" (want a span name, {field=value,...}, or both)"
		}
		return dd, ""
	}
	if strings.TrimSpace(fieldPart) == "" {
		return nil, "empty field list \"{}\" (want {field=value,...} or {field})"
	}
	for _, f := range splitTop(fieldPart, ',', true) {
		fm, why := parseField(f)
		if why != "" {
			return nil, why
		}
		dd.fields = append(dd.fields, fm)
	}
	slices.SortStableFunc(dd.fields, compareField)
	return dd, ""
}

// closingBrace returns the index in s (which starts with '{') of the closing '}',
// outside quoted values.
func closingBrace(s string) (int, string) {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			var ok bool
			if j, ok = skipQuoted(s, j); !ok {
				return 0, unterminatedQuote
			}
		case '{':
			return 0, "nested '{' in field list (quote values that contain braces: {field=\"{...}\"})"
		case '}':
			return j, ""
		}
	}
	return 0, "unclosed '{' (want [span{field=value,...}])"
}

// parseField parses "key=value", "key=\"quoted value\"" or "key".
func parseField(f string) (fieldMatch, string) {
	f = strings.TrimSpace(f)
	if f == "" {
		return fieldMatch{}, "empty field in field list (want {field=value,...})"
	}
	key, value, hasValue := f, "", false
	if k := strings.IndexByte(f, '='); k >= 0 {
		key, value, hasValue = strings.TrimSpace(f[:k]), strings.TrimSpace(f[k+1:]), true
	}
	if key == "" {
		return fieldMatch{}, fmt.Sprintf("field %q has no name (want {field=value})", f)
	}
	for _, r := range key {
		if strings.ContainsRune(reserved, r) {
			return fieldMatch{}, fmt.Sprintf("field name %q contains %q (want {field=value})", key, r)
		}
	}
	if !hasValue {
		return newFieldMatch(key, "", false), ""
	}
	if value == "" {
		return fieldMatch{}, fmt.Sprintf("field %q has no value after '=' (want {%s=value}, {%s=\"\"} for an empty string, or {%s} for any value)", key, key, key, key)
	}
	if value[0] == '"' {
		end := quotedEnd(value)
		if end < 0 {
			return fieldMatch{}, fmt.Sprintf("unterminated quoted value for field %q (want {%s=\"value\"})", key, key)
		}
		if end != len(value) {
			return fieldMatch{}, fmt.Sprintf("unexpected %q after the quoted value of field %q (want {%s=\"value\"})", value[end:], key, key)
		}
		u, err := strconv.Unquote(value)
		if err != nil {
			return fieldMatch{}, fmt.Sprintf("bad quoted value %s for field %q: %v (want a Go string literal)", value, key, err)
		}
		return newFieldMatch(key, u, true), ""
	}
	for _, r := range value {
		if strings.ContainsRune(reserved, r) {
			return fieldMatch{}, fmt.Sprintf("value %q of field %q contains %q; quote it: {%s=%s}", value, key, r, key, strconv.Quote(value))
		}
	}
	return newFieldMatch(key, value, true), ""
}

// quotedEnd returns the index just past the closing quote of the string literal that s
// starts with, or -1.
func quotedEnd(s string) int {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
