package nethttp

import (
	"net/http"

	"github.com/strata-go/strata/instrument/internal/binding"
	"github.com/strata-go/strata/subscriber"
)

// DefaultTarget is the target of the spans Middleware and Transport start, unless
// [WithTarget] says otherwise. Filter directives match it ("strata/nethttp=warn").
const DefaultTarget = "strata/nethttp"

// Option configures [Middleware] and [Transport].
type Option func(*config)

type config struct {
	binding.Binding
	spanName  func(r *http.Request, route string) string
	forwarded bool
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
// default dispatch's ([subscriber.Default] at the time of each request). Two services
// composed in one process (a test, a gateway) each pass their own.
func WithDispatch(d *subscriber.Dispatch) Option {
	return func(c *config) { c.D = d }
}

// WithTarget sets the target of the spans (default [DefaultTarget]), the name filter
// directives match.
func WithTarget(target string) Option {
	return func(c *config) { c.Target = target }
}

// WithSpanName names spans with fn instead of the default ("GET /songs/{id}" for a
// server span, "GET api.example.com" for a client span). route is the ServeMux pattern
// without its method ("" when unknown, and always "" for client spans). Keep names
// low-cardinality: a name with an id in it makes every request a new operation.
func WithSpanName(fn func(r *http.Request, route string) string) Option {
	return func(c *config) { c.spanName = fn }
}

// WithForwardedHeaders makes [Middleware] take http.client_ip and http.scheme from the
// Forwarded, X-Forwarded-For and X-Forwarded-Proto headers when the request has them.
// Use it only behind a proxy that sets them: a client can send any value. Without it the
// client ip is the connection's remote address.
func WithForwardedHeaders() Option {
	return func(c *config) { c.forwarded = true }
}
