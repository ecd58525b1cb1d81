// Package binding is what the instrument packages share: which dispatch their spans and
// propagation use, and under which target their spans start.
package binding

import "github.com/strata-go/strata/subscriber"

// Binding names a dispatch (nil: the default one, at the time of each call) and the
// target of the spans.
type Binding struct {
	D      *subscriber.Dispatch
	Target string
}

// Dispatch returns the dispatch to extract and inject with: the one given, or the
// default as it is now (so that a SetDefault after the handler was built still counts).
func (b *Binding) Dispatch() *subscriber.Dispatch {
	if b.D != nil {
		return b.D
	}
	return subscriber.Default()
}

// Tracer returns the tracer spans start from: bound to the given dispatch, or following
// the default one.
func (b *Binding) Tracer() *subscriber.Tracer {
	if b.D != nil {
		return b.D.Tracer(b.Target)
	}
	return subscriber.NewTracer(b.Target)
}
