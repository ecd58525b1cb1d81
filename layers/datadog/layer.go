package datadog

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/subscriber"
)

// upstreamMemory is how many continued traces the layer remembers the upstream sampling
// priority of (two generations of it at most).
const upstreamMemory = 4096

// Layer exports spans to the Datadog Agent and propagates traces in Datadog's headers.
// Its hooks (OnNewSpan, OnFollowsFrom, OnEvent, OnClose) never block: closed spans go
// to a bounded queue that one goroutine sends to the Agent. Make it with [New] or
// [FromEnv] and stop it with [Layer.Shutdown] (or the dispatch's Shutdown).
type Layer struct {
	*spanexport.Exporter
	prop     Propagation
	upstream *priorities

	service, env, version string
	// serviceTag, envTag and versionTag are service, env and version as written in
	// spans: valid UTF-8, which the Agent's decoder requires.
	serviceTag, envTag, versionTag string
	endpoint                       string
	client                         *http.Client
	transport                      *http.Transport
	enc                            encoder
	logLimit                       *pipeline.LogLimiter
	headers                        http.Header // of every request but the trace count; read only

	// Used by send only (the queue's goroutine).
	answer    []byte           // the Agent's last answer
	limited   io.LimitedReader // drains an answer longer than maxAnswer
	lastRates struct {         // the last answer readRates decoded, and its rate
		answer    []byte
		rate      float64
		ok, valid bool
	}

	rate       atomic.Uint64 // math.Float64bits of the Agent's rate for this service
	agentRates atomic.Uint64 // answers with rates received
	sampledOut atomic.Uint64
	rejected   atomic.Uint64 // batches the Agent refused with a 4xx

	shutOnce sync.Once
	shutErr  error
}

// New returns a layer that sends spans to the Agent at [WithAgentURL] (default
// http://localhost:8126); it fails, naming the option, on a malformed URL, an empty
// service name, or a non-positive size or duration. It starts the queue's goroutine;
// [Layer.Shutdown] stops it. The Agent need not be up: spans wait in the queue, and
// are dropped and counted when it is full.
func New(opts ...Option) (*Layer, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return newLayer(&c)
}

// FromEnv is [New] with the configuration Datadog's tracers read from the environment
// first: DD_TRACE_AGENT_URL (which wins over the next two), DD_AGENT_HOST,
// DD_TRACE_AGENT_PORT, DD_SERVICE, DD_ENV and DD_VERSION; an empty variable counts as
// unset. Options given explicitly win over the environment. A malformed variable is an
// error naming it.
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
	if err := c.resolve(); err != nil {
		return nil, err
	}
	l := &Layer{
		upstream:   newPriorities(upstreamMemory),
		service:    c.service.v,
		env:        c.env.v,
		version:    c.version.v,
		serviceTag: validUTF8(c.service.v),
		envTag:     validUTF8(c.env.v),
		versionTag: validUTF8(c.version.v),
		endpoint:   c.endpoint,
		logLimit:   pipeline.NewLogLimiter(c.logf, pipeline.LogEvery),
	}
	l.rate.Store(math.Float64bits(1))
	l.prop.priority = l.decide
	l.transport = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	if c.socketPath != "" {
		path := c.socketPath
		l.transport.Proxy = nil
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	}
	l.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newBufConn(c), nil
	}
	l.headers = agentHeaders()
	l.client = &http.Client{Transport: l.transport, Timeout: c.timeout.v}
	l.enc.init(l)
	l.Exporter = spanexport.New(spanexport.Config{
		Pipeline: pipeline.Config{
			Name:          "datadog spans",
			QueueSize:     c.queueSize.v,
			BatchSize:     c.batchSize.v,
			FlushInterval: c.flushInterval.v,
			SendTimeout:   c.timeout.v,
			Logf:          c.logf,
		},
	}, l.send)
	return l, nil
}

// OnNewSpan notes the span's parent for export and, for a span that continues a remote
// parent, the sampling priority it received, which every span of its trace then carries.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	l.Exporter.OnNewSpan(span, fields)
	if prio, ok := upstreamPriority(span.Remote()); ok {
		id, _ := spanexport.TraceID128(span.TraceID())
		l.upstream.put(id, prio)
	}
}

// Extract reads a remote parent from Datadog's headers; see [Propagation.Extract].
func (l *Layer) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	return l.prop.Extract(c)
}

// Inject writes the span's context as Datadog's headers; see [Propagation.Inject].
// A trace with no priority from upstream gets the layer's decision from the Agent's
// sampling rate.
func (l *Layer) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	l.prop.Inject(span, c)
}

// Flush sends the spans queued so far to the Agent, within ctx.
func (l *Layer) Flush(ctx context.Context) error { return l.Exporter.Flush(ctx) }

// Shutdown stops the layer within ctx: it sends what is queued, stops the queue's
// goroutine and closes the connections to the Agent. The error says what was lost.
// Calling it again returns the first call's result.
func (l *Layer) Shutdown(ctx context.Context) error {
	l.shutOnce.Do(func() {
		l.shutErr = l.Exporter.Shutdown(ctx)
		l.transport.CloseIdleConnections()
	})
	return l.shutErr
}

// knuthFactor spreads trace ids over the 64-bit range, as Datadog's tracers do, so that
// a rate keeps the same traces in every service.
const knuthFactor = uint64(1111111111111111111)

// sampledByRate reports whether the trace with the lower id bits lo is kept at rate, as
// dd-trace-go decides it.
func sampledByRate(lo uint64, rate float64) bool {
	if rate >= 1 {
		return true
	}
	if rate <= 0 {
		return false
	}
	return lo*knuthFactor < uint64(rate*math.MaxUint64)
}

// agentRate is the sampling rate the Agent last gave this service (1 until it answers).
func (l *Layer) agentRate() float64 { return math.Float64frombits(l.rate.Load()) }

// decide is the priority of a trace with no upstream priority: kept or rejected by the
// Agent's rate, from the trace id alone, so that every span agrees.
func (l *Layer) decide(lo uint64) int {
	if sampledByRate(lo, l.agentRate()) {
		return PriorityAutoKeep
	}
	return PriorityAutoReject
}
