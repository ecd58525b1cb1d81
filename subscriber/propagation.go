package subscriber

import (
	"context"
	"net/http"

	"github.com/strata-go/strata/registry"
)

// Carrier is where propagation headers live: HTTP headers, gRPC metadata, a message's
// properties. Get returns "" for a missing key.
type Carrier interface {
	Get(key string) string
	Set(key, value string)
}

// HeaderCarrier adapts http.Header to a Carrier.
type HeaderCarrier http.Header

// Get returns the first value of key.
func (h HeaderCarrier) Get(key string) string { return http.Header(h).Get(key) }

// Set sets key to value.
func (h HeaderCarrier) Set(key, value string) { http.Header(h).Set(key, value) }

// MapCarrier is a Carrier over a plain map (keys as given, case-sensitive).
type MapCarrier map[string]string

// Get returns m[key].
func (m MapCarrier) Get(key string) string { return m[key] }

// Set sets m[key].
func (m MapCarrier) Set(key, value string) { m[key] = value }

// RemoteParent is a parent span in another process, decoded from a carrier by a
// [Propagator]. A span started from a ctx holding it continues its trace.
type RemoteParent struct {
	// TraceID is the upstream trace id, kept exactly as it was received.
	TraceID registry.TraceID
	// Sampled is the upstream sampling decision.
	Sampled bool
	// SpanID is the upstream parent span's id where the format carries it as 64 bits
	// (W3C traceparent, Datadog), or 0 (sw8 names a segment and a span index instead).
	// Exporters whose wire format has a 64-bit parent id (Jaeger, OTLP, Datadog) use it
	// as the parent of the span that continues the trace.
	SpanID uint64
	// Propagator names who decoded it ("sw8"), and Data is what it decoded, for the layer
	// that exports the span (the SkyWalking layer reads its parent segment from it).
	Propagator string
	Data       any
}

// Propagator is implemented by layers that carry context across processes (the
// SkyWalking layer provides sw8). Extract decodes a remote parent, reporting false when
// the carrier holds none or holds a malformed one; it must never panic. Inject writes
// the span's context into the carrier.
type Propagator interface {
	Extract(c Carrier) (*RemoteParent, bool)
	Inject(span SpanRef, c Carrier)
}

// Extract returns ctx with the remote parent that the first of d's propagators finds in
// c; spans started from it continue the remote trace. Without one, ctx is returned as it
// is and spans start new traces: a malformed header never fails a request.
func (d *Dispatch) Extract(ctx context.Context, c Carrier) context.Context {
	for _, p := range d.props {
		if rp, ok := p.Extract(c); ok && rp != nil && !rp.TraceID.IsZero() {
			return &remoteCtx{Context: ctx, remote: rp}
		}
	}
	return ctx
}

// Inject writes the context of the span ctx carries into c, through every propagator.
func (d *Dispatch) Inject(ctx context.Context, c Carrier) {
	sc, ok := current(ctx).(*spanCtx)
	if !ok || sc.d != d || len(d.props) == 0 {
		return
	}
	r := sc.h.Acquire()
	if r == nil {
		return
	}
	defer r.Release()
	ref := SpanRef{r, stateOf(r)}
	for _, p := range d.props {
		p.Inject(ref, c)
	}
}

// Extract is [Dispatch.Extract] with the default dispatch.
func Extract(ctx context.Context, c Carrier) context.Context { return Default().Extract(ctx, c) }

// Inject is [Dispatch.Inject] with the default dispatch.
func Inject(ctx context.Context, c Carrier) { Default().Inject(ctx, c) }

// RemoteFromContext returns the remote parent ctx carries (set by Extract), or nil.
func RemoteFromContext(ctx context.Context) *RemoteParent {
	if c, ok := current(ctx).(*remoteCtx); ok {
		return c.remote
	}
	return nil
}

// ContextWithRemote returns ctx carrying rp as the parent of the next span.
func ContextWithRemote(ctx context.Context, rp *RemoteParent) context.Context {
	if rp == nil || rp.TraceID.IsZero() {
		return ctx
	}
	return &remoteCtx{Context: ctx, remote: rp}
}
