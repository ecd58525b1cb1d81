package otlp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/internal/spanexport"
)

// Layer exports spans over OTLP; see the package documentation. Create it with [New] or
// [FromEnv] and compose it after storage. Its hooks (OnNewSpan, OnFollowsFrom, OnEvent,
// OnClose) are safe for concurrent use and never block.
type Layer struct {
	*spanexport.Exporter

	tr       transport
	enc      *encoder
	log      *pipeline.LogLimiter
	rejected atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// New returns a layer that exports to the endpoint of [WithEndpoint] (default
// [DefaultGRPCEndpoint]); it fails, naming the option, on a malformed endpoint, an
// unknown protocol or compression, conflicting TLS options, a malformed header, an empty
// service name, or a size or duration that is not positive. It does not connect: the
// first export does, and a collector that is down costs retries, not a failed New. It
// starts the goroutine that sends the spans; [Layer.Shutdown] (or the dispatch's
// Shutdown) stops it.
func New(opts ...Option) (*Layer, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return newLayer(&c)
}

// FromEnv is [New] with the configuration the OpenTelemetry SDKs read from the
// environment first, explicit options winning over it:
//
//   - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is, else OTEL_EXPORTER_OTLP_ENDPOINT,
//     which over HTTP/protobuf gets "/v1/traces" appended to its path;
//   - OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL: grpc or http/protobuf;
//   - OTEL_EXPORTER_OTLP_[TRACES_]HEADERS: "key=value,key2=value2", values
//     percent-decoded (the TRACES_ variable replaces the general one as a whole);
//   - OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION: gzip or none;
//   - OTEL_EXPORTER_OTLP_[TRACES_]INSECURE: true or false, for a scheme-less gRPC
//     endpoint;
//   - OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT: milliseconds per export request;
//   - OTEL_SERVICE_NAME, and OTEL_RESOURCE_ATTRIBUTES ("key=value,...", percent-decoded).
//
// A TRACES_ variable wins over its general form. A malformed variable is an error
// naming it.
func FromEnv(opts ...Option) (*Layer, error) {
	var c config
	c.fromEnv()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return newLayer(&c)
}

func newLayer(c *config) (*Layer, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	l := &Layer{enc: newEncoder(r.resource), log: pipeline.NewLogLimiter(r.logf, pipeline.LogEvery)}
	if r.protocol == ProtocolHTTPProtobuf {
		l.tr = newHTTPTransport(r)
	} else {
		gt, err := newGRPCTransport(r)
		if err != nil {
			return nil, err
		}
		l.tr = gt
	}
	l.Exporter = spanexport.New(spanexport.Config{Pipeline: r.pipe}, l.send)
	return l, nil
}

// send encodes and exports one batch, on the pipeline's goroutine.
func (l *Layer) send(ctx context.Context, batch []*spanexport.Span) error {
	req, err := l.enc.encode(batch)
	if err != nil {
		return fmt.Errorf("otlp: encode %d spans: %w", len(batch), err)
	}
	ps, err := l.tr.export(ctx, req)
	if err != nil {
		return err
	}
	if ps.rejected > 0 || ps.message != "" {
		if ps.rejected > 0 {
			l.rejected.Add(uint64(ps.rejected))
		}
		l.log.Logf("rejected", "otlp: the collector rejected %d of %d spans: %s", ps.rejected, len(batch), ps.message)
	}
	return nil
}

// Flush sends the spans queued so far and waits for them, within ctx. Its error says
// how many were not delivered.
func (l *Layer) Flush(ctx context.Context) error { return l.Exporter.Flush(ctx) }

// Shutdown delivers what is queued within ctx, stops the layer's goroutine and closes
// the connection. Its error says what was lost. Calling it again waits for the
// goroutine, within ctx.
func (l *Layer) Shutdown(ctx context.Context) error {
	err := l.Exporter.Shutdown(ctx)
	l.closeOnce.Do(func() { l.closeErr = l.tr.close() })
	if l.closeErr != nil {
		err = errors.Join(err, fmt.Errorf("otlp: close: %w", l.closeErr))
	}
	return err
}

// Stats counts what became of the spans the layer saw. Every span closed ends up in
// exactly one of Sent, Dropped and Failed (Queued until then):
// Spans == Sent + Dropped + Failed + Queued.
type Stats struct {
	// Spans counts the spans closed and offered to the queue.
	Spans uint64
	// Sent counts the spans of export requests the collector accepted (Rejected
	// included).
	Sent uint64
	// Dropped counts the spans the queue refused: it was full, or the layer was shut
	// down.
	Dropped uint64
	// Failed counts the spans lost in flight (an error the OTLP specification does not
	// retry, such as INVALID_ARGUMENT or HTTP 400), or still queued when Shutdown's
	// deadline passed.
	Failed uint64
	// Queued is the number of spans waiting for the collector (or being sent).
	Queued int
	// Retries counts the export requests that failed with a retryable error and were
	// sent again after a backoff.
	Retries uint64
	// EventsDropped counts the events not kept, beyond 128 per span.
	EventsDropped uint64
	// Rejected counts the spans a collector said it rejected in the partial_success of
	// an accepted request; they are part of Sent.
	Rejected uint64
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats {
	s := l.Exporter.Stats()
	return Stats{
		Spans:         s.Spans,
		Sent:          s.Sent,
		Dropped:       s.Dropped,
		Failed:        s.Failed,
		Queued:        s.Queued,
		Retries:       s.Retries,
		EventsDropped: s.EventsDropped,
		Rejected:      l.rejected.Load(),
	}
}

// Gauges returns the layer's self-metrics by Prometheus series name, for the metrics
// layer's RegisterGauge: strata_otlp_spans_total, _spans_sent_total,
// _spans_dropped_total, _spans_failed_total, _spans_rejected_total, _queue_length,
// _retries_total and _events_dropped_total. The *_total series only grow.
//
//	for name, fn := range exp.Gauges() {
//		if err := met.RegisterGauge(name, fn); err != nil { ... }
//	}
func (l *Layer) Gauges() map[string]func() float64 {
	g := l.Exporter.Gauges("strata_otlp")
	g["strata_otlp_spans_rejected_total"] = func() float64 { return float64(l.rejected.Load()) }
	return g
}
