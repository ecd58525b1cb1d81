package filter

import (
	"log/slog"
	"slices"

	"github.com/strata-go/strata/subscriber"
)

// targetFilter enables one target and the targets under it.
type targetFilter struct{ prefix string }

// Target returns a filter that enables spans and events whose target is prefix or lies
// under it at a '/' boundary: Target("songs") enables songs and songs/db, not songsx.
// Target("") enables every target. Its target hint is exact: a tracer for another
// target is disabled at no cost.
func Target(prefix string) subscriber.Filter { return targetFilter{prefix} }

func (f targetFilter) Enabled(meta *subscriber.Metadata, _ subscriber.Scope) bool {
	return matchTarget(f.prefix, meta.Target)
}

func (f targetFilter) LevelHint() subscriber.Level { return subscriber.LevelTrace }

func (f targetFilter) TargetLevelHint(target string) subscriber.Level {
	if matchTarget(f.prefix, target) {
		return subscriber.LevelTrace
	}
	return subscriber.LevelOff
}

// spanNameFilter enables spans with one of a few names.
type spanNameFilter struct{ names []string }

// SpanName returns a filter that enables spans named one of names (meta.Name of a span;
// events never match). To also enable the events inside such spans, use
// Or(SpanName(n), InSpan(n)).
func SpanName(names ...string) subscriber.Filter {
	return spanNameFilter{slices.Clone(names)}
}

func (f spanNameFilter) Enabled(meta *subscriber.Metadata, _ subscriber.Scope) bool {
	return meta.Kind == subscriber.KindSpan && slices.Contains(f.names, meta.Name)
}

// fieldFilter enables what has a field that satisfies a predicate.
type fieldFilter struct {
	key  string
	pred func(slog.Value) bool
}

// Field returns a filter that enables spans and events that have their own field key
// (scope.Fields: a span's fields at start, an event's fields) whose value satisfies
// pred; a nil pred only asks that the field be there. Fields inherited from parent spans
// are not looked at: use [InSpan] or a span directive for those.
func Field(key string, pred func(slog.Value) bool) subscriber.Filter {
	return fieldFilter{key, pred}
}

func (f fieldFilter) Enabled(_ *subscriber.Metadata, scope subscriber.Scope) bool {
	v, ok := lookup(scope.Fields, f.key)
	return ok && (f.pred == nil || f.pred(v))
}

// inSpanFilter enables what happens inside a span with a given name.
type inSpanFilter struct{ name string }

// InSpan returns a filter that enables spans and events inside a span named name: the
// event's span or one of its ancestors; for a span, its parent or one of the parent's
// ancestors (not the span itself; add SpanName(name) with [Or] for that).
func InSpan(name string) subscriber.Filter { return inSpanFilter{name} }

func (f inSpanFilter) Enabled(_ *subscriber.Metadata, scope subscriber.Scope) bool {
	for p := scope.Parent; !p.IsZero(); p = p.Parent() {
		if p.Name() == f.name {
			return true
		}
	}
	return false
}
