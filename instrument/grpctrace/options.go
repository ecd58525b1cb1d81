package grpctrace

import "github.com/strata-go/strata/subscriber"

// DefaultTarget is the target of the spans the interceptors start, unless [WithTarget]
// says otherwise. Filter directives match it ("strata/grpctrace=warn").
const DefaultTarget = "strata/grpctrace"

// Option configures the interceptors.
type Option func(*config)

type config struct {
	d      *subscriber.Dispatch // nil: subscriber.Default() at each call
	target string
}

func newConfig(opts []Option) config {
	c := config{target: DefaultTarget}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// dispatch returns the dispatch to extract and inject with: the one given, or the
// default as it is now.
func (c *config) dispatch() *subscriber.Dispatch {
	if c.d != nil {
		return c.d
	}
	return subscriber.Default()
}

// tracer returns the tracer spans start from: bound to the given dispatch, or following
// the default one.
func (c *config) tracer() *subscriber.Tracer {
	if c.d != nil {
		return c.d.Tracer(c.target)
	}
	return subscriber.NewTracer(c.target)
}

// WithDispatch makes spans go to d, and propagation use d's propagators, instead of the
// default dispatch's ([subscriber.Default] at the time of each call). Two services
// composed in one process (a test, a gateway) each pass their own.
func WithDispatch(d *subscriber.Dispatch) Option {
	return func(c *config) { c.d = d }
}

// WithTarget sets the target of the spans (default [DefaultTarget]), the name filter
// directives match.
func WithTarget(target string) Option {
	return func(c *config) { c.target = target }
}
