package filter

import (
	"sync/atomic"

	"github.com/strata-go/strata/subscriber"
)

// Reloadable is a filter that can be replaced while spans and events flow through it,
// for instance to turn on DEBUG for one target from an admin endpoint:
//
//	r := filter.NewReloadable(directives)
//	d := subscriber.MustNew(subscriber.WithFilter(layer, r))
//	...
//	err := r.SetDirectives("info,songs/db=debug") // keeps the old filter on error
//
// Each check costs one atomic load and no lock. After a change, Set calls
// [subscriber.RebuildInterest], so dispatch level floors and the per-target answers
// tracers cached are computed again from the new filter. Spans already started keep
// the verdict they got at start; events inside them follow the new filter.
//
// The zero Reloadable enables everything until its first Set.
type Reloadable struct {
	cur atomic.Pointer[holder]
}

// holder boxes a Filter interface value for atomic.Pointer.
type holder struct{ f subscriber.Filter }

// NewReloadable returns a reloadable filter that starts as initial. A nil filter enables
// everything, as no filter does.
func NewReloadable(initial subscriber.Filter) *Reloadable {
	r := &Reloadable{}
	r.cur.Store(&holder{orNil(initial)})
	return r
}

// Set replaces the filter (nil enables everything) and rebuilds cached interest. It is
// safe to call from any goroutine, concurrently with Enabled and with other Sets; the
// last Set to store wins.
func (r *Reloadable) Set(f subscriber.Filter) {
	r.cur.Store(&holder{orNil(f)})
	subscriber.RebuildInterest()
}

// SetDirectives parses s as directives ([Parse]) and, if they parse, sets them as the
// filter. On error the current filter stays in place and the *[ParseError] is returned.
func (r *Reloadable) SetDirectives(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	r.Set(d)
	return nil
}

// Current returns the filter in place now.
func (r *Reloadable) Current() subscriber.Filter {
	if h := r.cur.Load(); h != nil {
		return h.f
	}
	return all{}
}

// Enabled asks the current filter.
func (r *Reloadable) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	if h := r.cur.Load(); h != nil {
		return h.f.Enabled(meta, scope)
	}
	return true
}

// LevelHint returns the current filter's level hint (LevelTrace if it has none).
func (r *Reloadable) LevelHint() subscriber.Level { return subscriber.LevelHintOf(r.Current()) }

// TargetLevelHint returns the current filter's hint for target.
func (r *Reloadable) TargetLevelHint(target string) subscriber.Level {
	return subscriber.TargetHintOf(r.Current(), target)
}
