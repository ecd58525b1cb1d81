package filter

import (
	"cmp"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/strata-go/strata/subscriber"
)

// Directives is a parsed set of env-filter directives (see the package documentation
// for the syntax). It is immutable, and safe for concurrent use. Make one with [Parse],
// [FromEnv] or [FromEnvOr].
type Directives struct {
	def     subscriber.Level // default level; LevelOff when none was given
	hasDef  bool
	static  []staticDirective  // longest target first
	dynamic []dynamicDirective // canonical order
	minDyn  subscriber.Level   // most verbose dynamic level; LevelOff when none
	minAll  subscriber.Level   // most verbose level of any directive
}

type staticDirective struct {
	target string
	level  subscriber.Level
}

type dynamicDirective struct {
	target    string
	hasTarget bool
	span      string // "" matches any span name
	fields    []fieldMatch
	level     subscriber.Level
}

// fieldMatch is one {key=value} (or {key}) of a span directive. The value is compared
// with slog.Value.String; for the kinds whose text is cheap to predict, the value is
// parsed up front so that matching does not format (and allocate).
type fieldMatch struct {
	key      string
	value    string
	hasValue bool

	i64   int64
	isI64 bool
	u64   uint64
	isU64 bool
	b     bool
	isB   bool
}

func newFieldMatch(key, value string, hasValue bool) fieldMatch {
	f := fieldMatch{key: key, value: value, hasValue: hasValue}
	if !hasValue {
		return f
	}
	// Only canonical spellings can ever equal what strconv prints for a value.
	if n, err := strconv.ParseInt(value, 10, 64); err == nil && strconv.FormatInt(n, 10) == value {
		f.i64, f.isI64 = n, true
	}
	if n, err := strconv.ParseUint(value, 10, 64); err == nil && strconv.FormatUint(n, 10) == value {
		f.u64, f.isU64 = n, true
	}
	switch value {
	case "true":
		f.b, f.isB = true, true
	case "false":
		f.b, f.isB = false, true
	}
	return f
}

// matches reports whether v.String() == f.value, without formatting v for strings,
// integers and booleans.
func (f *fieldMatch) matches(v slog.Value) bool {
	if !f.hasValue {
		return true
	}
	switch v.Kind() {
	case slog.KindString:
		return v.String() == f.value
	case slog.KindInt64:
		return f.isI64 && v.Int64() == f.i64
	case slog.KindUint64:
		return f.isU64 && v.Uint64() == f.u64
	case slog.KindBool:
		return f.isB && v.Bool() == f.b
	}
	return v.String() == f.value
}

// matchTarget reports whether target is prefix or lies under it at a '/' boundary.
func matchTarget(prefix, target string) bool {
	if !strings.HasPrefix(target, prefix) {
		return false
	}
	n := len(prefix)
	return n == len(target) || n == 0 || prefix[n-1] == '/' || target[n] == '/'
}

// staticLevel is the level the target directives give target.
func (d *Directives) staticLevel(target string) subscriber.Level {
	for i := range d.static {
		if matchTarget(d.static[i].target, target) {
			return d.static[i].level
		}
	}
	return d.def
}

// Enabled reports whether the directives enable a span or event: its level is at or
// above the level of the most specific target directive (or the default), or a span
// directive matches the span itself or one of the spans it is inside.
func (d *Directives) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	if meta.Level >= d.staticLevel(meta.Target) {
		return true
	}
	if meta.Level < d.minDyn {
		return false
	}
	if meta.Kind == subscriber.KindSpan {
		for i := range d.dynamic {
			dd := &d.dynamic[i]
			if meta.Level >= dd.level && dd.matchesNew(meta, scope.Fields) {
				return true
			}
		}
	}
	for p := scope.Parent; !p.IsZero(); p = p.Parent() {
		for i := range d.dynamic {
			dd := &d.dynamic[i]
			if meta.Level >= dd.level && dd.matchesSpan(p) {
				return true
			}
		}
	}
	return false
}

// matchesNew matches a span being started, whose fields are not readable through a
// SpanRef yet.
func (dd *dynamicDirective) matchesNew(meta *subscriber.Metadata, fields []slog.Attr) bool {
	if dd.hasTarget && !matchTarget(dd.target, meta.Target) {
		return false
	}
	if dd.span != "" && dd.span != meta.Name {
		return false
	}
	for i := range dd.fields {
		fm := &dd.fields[i]
		v, ok := lookup(fields, fm.key)
		if !ok || !fm.matches(v) {
			return false
		}
	}
	return true
}

// matchesSpan matches an existing span (an ancestor).
func (dd *dynamicDirective) matchesSpan(s subscriber.SpanRef) bool {
	if dd.hasTarget && !matchTarget(dd.target, s.Metadata().Target) {
		return false
	}
	if dd.span != "" && dd.span != s.Name() {
		return false
	}
	for i := range dd.fields {
		fm := &dd.fields[i]
		v, ok := s.Field(fm.key)
		if !ok || !fm.matches(v) {
			return false
		}
	}
	return true
}

// lookup finds the last value of key in attrs, as SpanRef.Field does.
func lookup(attrs []slog.Attr, key string) (slog.Value, bool) {
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Key == key {
			return attrs[i].Value, true
		}
	}
	return slog.Value{}, false
}

// LevelHint returns the most verbose level any directive enables.
func (d *Directives) LevelHint() subscriber.Level { return d.minAll }

// TargetLevelHint returns the most verbose level the directives can enable for target:
// that of its most specific target directive (or the default), or of any span
// directive, since a span directive enables events of every target inside its spans.
func (d *Directives) TargetLevelHint(target string) subscriber.Level {
	return min(d.staticLevel(target), d.minDyn)
}

// String returns the canonical form of the directives, which [Parse] reads back to the
// same directives: the default level first, then target directives sorted by target,
// then span directives, each with an explicit level.
func (d *Directives) String() string {
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
	}
	if d.hasDef {
		b.WriteString(levelName(d.def))
	}
	byTarget := slices.Clone(d.static)
	slices.SortFunc(byTarget, func(a, b staticDirective) int { return strings.Compare(a.target, b.target) })
	for _, s := range byTarget {
		sep()
		b.WriteString(s.target)
		b.WriteByte('=')
		b.WriteString(levelName(s.level))
	}
	for i := range d.dynamic {
		sep()
		d.dynamic[i].writeTo(&b)
		b.WriteByte('=')
		b.WriteString(levelName(d.dynamic[i].level))
	}
	return b.String()
}

// writeTo writes the directive without its level.
func (dd *dynamicDirective) writeTo(b *strings.Builder) {
	b.WriteString(dd.target)
	b.WriteByte('[')
	b.WriteString(dd.span)
	if len(dd.fields) > 0 {
		b.WriteByte('{')
		for i, f := range dd.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.key)
			if f.hasValue {
				b.WriteByte('=')
				b.WriteString(quoteValue(f.value))
			}
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
}

// key identifies a span directive regardless of its level, for "last one wins".
func (dd *dynamicDirective) key() string {
	var b strings.Builder
	dd.writeTo(&b)
	return b.String()
}

func compareDynamic(a, b dynamicDirective) int {
	if c := strings.Compare(a.target, b.target); c != 0 {
		return c
	}
	if c := strings.Compare(a.span, b.span); c != 0 {
		return c
	}
	return slices.CompareFunc(a.fields, b.fields, compareField)
}

func compareField(a, b fieldMatch) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	if a.hasValue != b.hasValue {
		if !a.hasValue {
			return -1
		}
		return 1
	}
	return strings.Compare(a.value, b.value)
}

// quoteValue writes a field value bare when it reads back unchanged, quoted otherwise.
func quoteValue(v string) string {
	if v == "" || strings.TrimSpace(v) != v || !utf8.ValidString(v) {
		return strconv.Quote(v)
	}
	for _, r := range v {
		if strings.ContainsRune(reserved, r) || !unicode.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}

// levelName is the canonical (lowercase) name of a directive level.
func levelName(l subscriber.Level) string {
	return strings.ToLower(l.String())
}

func sortDirectives(d *Directives) {
	slices.SortStableFunc(d.static, func(a, b staticDirective) int {
		if c := cmp.Compare(len(b.target), len(a.target)); c != 0 {
			return c
		}
		return strings.Compare(a.target, b.target)
	})
	slices.SortStableFunc(d.dynamic, compareDynamic)
	d.minDyn = subscriber.LevelOff
	for _, dd := range d.dynamic {
		d.minDyn = min(d.minDyn, dd.level)
	}
	d.minAll = min(d.def, d.minDyn)
	for _, s := range d.static {
		d.minAll = min(d.minAll, s.level)
	}
}
