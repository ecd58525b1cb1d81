package grpctrace

import (
	"github.com/strata-go/strata/instrument/internal/binding"
	"github.com/strata-go/strata/subscriber"
)

// DefaultTarget is the target of the spans the interceptors start, unless [WithTarget]
// says otherwise. Filter directives match it ("strata/grpctrace=warn").
const DefaultTarget = "strata/grpctrace"

// Option configures the interceptors.
type Option func(*config)

type config struct {
	binding.Binding
}

func newConfig(opts []Option) config {
	c := config{Binding: binding.Binding{Target: DefaultTarget}}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithDispatch makes spans go to d, and propagation use d's propagators, instead of the
// default dispatch's ([subscriber.Default] at the time of each call). Two services
// composed in one process (a test, a gateway) each pass their own.
func WithDispatch(d *subscriber.Dispatch) Option {
	return func(c *config) { c.D = d }
}

// WithTarget sets the target of the spans (default [DefaultTarget]), the name filter
// directives match.
func WithTarget(target string) Option {
	return func(c *config) { c.Target = target }
}
