package filter

import "github.com/strata-go/strata/subscriber"

// funcFilter wraps a function of the metadata alone.
type funcFilter func(*subscriber.Metadata) bool

// Func returns a filter that enables what fn returns true for. fn sees only the
// metadata (name, target, level, kind), so it suits static rules such as "no spans from
// this target". fn runs for every span and event that reaches the layer, from many
// goroutines at once: keep it fast and safe for concurrent use. Func cannot hint, so
// spans and events reach it at every level; combine it with [Level] in [And] to prune.
// A nil fn enables everything, as no filter does.
func Func(fn func(*subscriber.Metadata) bool) subscriber.Filter {
	if fn == nil {
		return all{}
	}
	return funcFilter(fn)
}

func (f funcFilter) Enabled(meta *subscriber.Metadata, _ subscriber.Scope) bool { return f(meta) }

// dynamicFilter wraps a function of the metadata and the span context.
type dynamicFilter func(*subscriber.Metadata, subscriber.Scope) bool

// Dynamic returns a filter that enables what fn returns true for. Besides the metadata,
// fn sees the scope: for a span its parent and its own fields, for an event the span it
// happens in (scope.Parent, the zero SpanRef outside spans) and its fields. Both are
// valid only during the call. Like [Func], it runs for every span and event, from many
// goroutines, and cannot hint. A nil fn enables everything.
func Dynamic(fn func(*subscriber.Metadata, subscriber.Scope) bool) subscriber.Filter {
	if fn == nil {
		return all{}
	}
	return dynamicFilter(fn)
}

func (f dynamicFilter) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	return f(meta, scope)
}

// all enables everything; it stands in for nil filters and functions.
type all struct{}

func (all) Enabled(*subscriber.Metadata, subscriber.Scope) bool { return true }
func (all) LevelHint() subscriber.Level                         { return subscriber.LevelTrace }
func (all) TargetLevelHint(string) subscriber.Level             { return subscriber.LevelTrace }

// orNil returns f, or all{} for a nil f.
func orNil(f subscriber.Filter) subscriber.Filter {
	if f == nil {
		return all{}
	}
	return f
}
