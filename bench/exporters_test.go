package bench

// The span exporters: a root span with two attributes (a string and an int), started
// and ended, exported over the network to a peer on 127.0.0.1 that receives and
// discards it, through Strata (storage + the exporter layer) and through each
// protocol's own Go client.
//
//   - OTLPSpan: strata is storage + layers/otlp (gRPC, insecure, no compression) to
//     otlpSink, a TraceService on 127.0.0.1 that counts the spans of every request
//     by walking its protobuf fields. otel_sdk_batch is the OpenTelemetry
//     SDK with a batch processor and its otlptracegrpc exporter (insecure, no
//     compression) to the same kind of server.
//   - JaegerSpan: strata is storage + layers/jaeger (Thrift compact emitBatch datagrams)
//     to jaegerSink, a UDP socket on 127.0.0.1 that reads every datagram and counts the
//     spans of its batch (thriftSpanCount: a walk over the compact encoding, no
//     allocation). jaeger_client_go is the Jaeger project's own Go client
//     (jaeger-client-go v2.30.0: const sampler, 128-bit trace ids, remote reporter over
//     its UDP transport) to the same kind of socket. otel_sdk_batch is the OTLP row
//     again: the OpenTelemetry SDK dropped its Jaeger exporter (Jaeger ingests OTLP
//     since v1.35), so OTLP is what an SDK user sends to Jaeger today.
//   - DatadogSpan: strata is storage + layers/datadog (msgpack, PUT /v0.4/traces) to
//     ddAgent, an httptest server on 127.0.0.1 that reads each body, counts its spans
//     (msgpackSpanCount, a walk without allocation) and answers
//     {"rate_by_service":{}}. dd_trace_go is Datadog's own tracer
//     (dd-trace-go v2.3.0) to the same kind of agent: see exporters_ddtrace_test.go.
//
// What every row does per op: one span, ended, exported; cpu-ns/op is the process's
// CPU time, so the exporter's goroutine, the encoding, the client's and the sink's
// side of the loopback transport all count, for every row alike. The queues are made
// big enough (exportQueueSize on every side that has one) and the loop waits for the
// exporter whenever half of it is in flight, so nothing is dropped: a row that kept
// up only by dropping would look cheaper than the work it claims. Each row flushes
// inside the measurement and waits until its sink has counted every span, then
// reports drop-%: the share of the b.N spans its sink did not count (0 unless
// something was lost). exporters_fairness_test.go checks that every row's spans reach
// its sink with the same name and attributes, and says what each side sends besides.
// The strata rows of JaegerSpan and DatadogSpan are in exporters_layers_test.go, the
// dd_trace_go row in exporters_ddtrace_test.go.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	jaegerclient "github.com/uber/jaeger-client-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // a client that compresses is still answered
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/strata-go/strata/layers/otlp"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The exported span: its name and its two attributes, the same on every side.
const (
	expSpanName = "op"
	expStrKey   = "http.route"
	expStrVal   = "/songs"
	expIntKey   = "song.id"
	expIntVal   = 42
)

// exportQueueSize is the queue of every row that has one (Strata's layers, the SDK's
// batch processor, jaeger-client-go's reporter): big enough that the loop, which waits
// for its exporter when half of it is in flight, never fills it.
const exportQueueSize = 10_000

var sinkJaegerSpan opentracing.Span

// spanSink is a peer on 127.0.0.1 that counts the spans it received.
type spanSink interface {
	spans() int64
}

// waitSpans waits until s has counted n spans in all, at most d; it reports whether
// it got there.
func waitSpans(s spanSink, n int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for s.spans() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Microsecond)
	}
	return true
}

// reportSinkDrops reports drop-%: the share of n spans sent since base that s did not
// count (after the row's flush, inside the measurement).
func reportSinkDrops(b *testing.B, s spanSink, base int64, n int) {
	got := s.spans() - base
	b.ReportMetric(100*float64(int64(n)-got)/float64(n), "drop-%")
}

// --- OTLP ---------------------------------------------------------------------------

// otlpSink is an OTLP/gRPC TraceService on 127.0.0.1 that counts the spans of every
// request by walking its protobuf fields (resource_spans, scope_spans, spans) without
// building messages, so that what it allocates does not count against either side in
// -benchmem (the Jaeger and Datadog sinks count the same way). A request it cannot
// walk is an error returned to the client. Tests that check what arrived (keep) get the
// request decoded with the generated types.
type otlpSink struct {
	addr     string
	n        atomic.Int64
	requests atomic.Int64
	keep     func(*coltracepb.ExportTraceServiceRequest)
}

// rawFrame is a gRPC message as bytes: the sink's codec neither encodes nor decodes.
type rawFrame struct{ b []byte }

type otlpRawCodec struct{}

func (otlpRawCodec) Marshal(v any) ([]byte, error) { return v.(*rawFrame).b, nil }

// Unmarshal copies: gRPC may reuse data once it returns.
func (otlpRawCodec) Unmarshal(data []byte, v any) error {
	v.(*rawFrame).b = append([]byte(nil), data...)
	return nil
}
func (otlpRawCodec) Name() string { return "proto" }

// otlpSinkService is TraceService/Export, by hand, over rawFrame.
var otlpSinkService = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var f rawFrame
			if err := dec(&f); err != nil {
				return nil, err
			}
			return srv.(*otlpSink).export(f.b)
		},
	}},
}

// startOTLPSink starts an otlpSink; keep, if not nil, sees every request (tests).
func startOTLPSink(tb testing.TB, keep func(*coltracepb.ExportTraceServiceRequest)) *otlpSink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &otlpSink{addr: ln.Addr().String(), keep: keep}
	srv := grpc.NewServer(grpc.ForceServerCodec(otlpRawCodec{}))
	srv.RegisterService(&otlpSinkService, s)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	tb.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	return s
}

func (s *otlpSink) export(req []byte) (*rawFrame, error) {
	n, err := countOTLPSpans(req)
	if err != nil {
		return nil, err
	}
	if s.keep != nil {
		var m coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(req, &m); err != nil {
			return nil, err
		}
		s.keep(&m)
	}
	s.requests.Add(1)
	s.n.Add(n)
	return &rawFrame{}, nil // an empty ExportTraceServiceResponse
}

// countOTLPSpans counts the spans of an encoded ExportTraceServiceRequest:
// resource_spans (1) → scope_spans (2) → spans (2).
func countOTLPSpans(b []byte) (int64, error) {
	var n int64
	err := protoFields(b, 1, func(rs []byte) error {
		return protoFields(rs, 2, func(ss []byte) error {
			return protoFields(ss, 2, func([]byte) error { n++; return nil })
		})
	})
	return n, err
}

// protoFields calls fn with each length-delimited field numbered num of message b,
// skipping the others.
func protoFields(b []byte, num protowire.Number, fn func([]byte) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			if err := fn(v); err != nil {
				return err
			}
			b = b[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, typ, b); l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil
}

func (s *otlpSink) spans() int64 { return s.n.Load() }

// --- Strata's layers ----------------------------------------------------------------

// exportLayer is what the benchmarks need of Strata's three exporter layers.
type exportLayer struct {
	layer  any // the *otlp.Layer, *jaeger.Layer or *datadog.Layer, composed after storage
	flush  func(context.Context) error
	queued func() int
	stats  func() string // for failure messages
}

func newOTLPLayer(tb testing.TB, addr string) exportLayer {
	tb.Helper()
	l, err := otlp.New(otlp.WithEndpoint(addr), otlp.WithInsecure(), otlp.WithService("bench"),
		otlp.WithQueueSize(exportQueueSize))
	if err != nil {
		tb.Fatal(err)
	}
	return exportLayer{layer: l, flush: l.Flush,
		queued: func() int { return l.Stats().Queued }, stats: func() string { return fmt.Sprintf("%+v", l.Stats()) }}
}

// exportTracer composes storage + the layer; the dispatch's Shutdown (within 100ms,
// shutdownQuickly) stops the layer when the benchmark ends.
func exportTracer(tb testing.TB, l exportLayer) *subscriber.Tracer {
	tb.Helper()
	return swTracer(tb, "bench", storage.New(), l.layer)
}

// strataExportSpan starts and ends the exported span through Strata.
func strataExportSpan(ctx context.Context, tr *subscriber.Tracer) {
	c, sp := tr.Start(ctx, expSpanName, slog.String(expStrKey, expStrVal), slog.Int(expIntKey, expIntVal))
	sp.End()
	sinkCtx, sinkSpan = c, sp
}

// runStrataExport is a Strata row: storage + the layer, one span per op, the loop
// waiting for the layer (Flush) whenever half of its queue is in flight, a flush and
// the sink's count inside the measurement.
func runStrataExport(b *testing.B, l exportLayer, sink spanSink) {
	ctx := context.Background()
	tr := exportTracer(b, l)
	flush := func() {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := l.flush(fctx); err != nil {
			b.Errorf("flush: %v (stats %s)", err, l.stats())
		}
	}
	// Warm: the connection, the pools.
	c, sp := tr.Start(ctx, expSpanName)
	sp.End()
	sinkCtx = c
	flush()
	if !waitSpans(sink, 1, 10*time.Second) {
		b.Fatalf("the warm-up span did not reach the sink (stats %s)", l.stats())
	}
	base := sink.spans()
	cpu := startCPU(b)
	for i := range b.N {
		strataExportSpan(ctx, tr)
		if i%256 == 255 && l.queued() > exportQueueSize/2 {
			flush()
		}
	}
	cpu.stop(func() {
		flush()
		waitSpans(sink, base+int64(b.N), 5*time.Second)
	})
	reportSinkDrops(b, sink, base, b.N)
}

// --- The OpenTelemetry SDK over OTLP/gRPC -------------------------------------------

// otelOTLPProvider is the SDK with AlwaysSample, a batch processor (queue
// exportQueueSize, blocking rather than dropping when full, its default batch of 512
// and 5s timeout) and the otlptracegrpc exporter to addr (insecure, no compression);
// service.name "bench" merged into the SDK's default resource, as a user sets it.
func otelOTLPProvider(tb testing.TB, addr string) *sdktrace.TracerProvider {
	tb.Helper()
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		tb.Fatal(err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", "bench")))
	if err != nil {
		tb.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(exportQueueSize), sdktrace.WithBlocking()),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithResource(res))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	})
	return tp
}

// otelExportSpan starts and ends the exported span through the SDK.
func otelExportSpan(ctx context.Context, tr trace.Tracer) {
	c, sp := tr.Start(ctx, expSpanName, trace.WithAttributes(attribute.String(expStrKey, expStrVal), attribute.Int(expIntKey, expIntVal)))
	sp.End()
	sinkCtx, sinkOtel = c, sp
}

// runOTelOTLP is the otel_sdk_batch row: the SDK's batch processor blocks End when its
// queue is full (WithBlocking), which is how this row waits for its exporter.
func runOTelOTLP(b *testing.B) {
	ctx := context.Background()
	sink := startOTLPSink(b, nil)
	tp := otelOTLPProvider(b, sink.addr)
	tr := tp.Tracer("bench")
	flush := func() {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := tp.ForceFlush(fctx); err != nil {
			b.Error(err)
		}
	}
	otelExportSpan(ctx, tr)
	flush()
	if !waitSpans(sink, 1, 10*time.Second) {
		b.Fatal("the warm-up span did not reach the sink")
	}
	base := sink.spans()
	cpu := startCPU(b)
	for range b.N {
		otelExportSpan(ctx, tr)
	}
	cpu.stop(func() {
		flush()
		waitSpans(sink, base+int64(b.N), 5*time.Second)
	})
	reportSinkDrops(b, sink, base, b.N)
}

func BenchmarkOTLPSpan(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		sink := startOTLPSink(b, nil)
		runStrataExport(b, newOTLPLayer(b, sink.addr), sink)
	})
	b.Run("otel_sdk_batch", runOTelOTLP)
}

// --- Jaeger over UDP ----------------------------------------------------------------

// jaegerSink is a UDP socket on 127.0.0.1 that reads every datagram and counts the
// spans of the emitBatch call it carries (thriftSpanCount). Its receive buffer is
// raised to 4 MiB (this machine's net.core.rmem_max), so that a burst of 64 KiB
// datagrams is queued in the kernel rather than dropped while the reader catches up.
type jaegerSink struct {
	addr      string
	n         atomic.Int64
	datagrams atomic.Int64
	malformed atomic.Int64
	keep      func([]byte)
}

// startJaegerSink starts a jaegerSink; keep, if not nil, gets a copy of every datagram
// (tests).
func startJaegerSink(tb testing.TB, keep func([]byte)) *jaegerSink {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	s := &jaegerSink{addr: conn.LocalAddr().String(), keep: keep}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return // closed
			}
			s.datagrams.Add(1)
			if s.keep != nil {
				s.keep(bytes.Clone(buf[:n]))
			}
			c, err := thriftSpanCount(buf[:n])
			if err != nil {
				s.malformed.Add(1)
				continue
			}
			s.n.Add(int64(c))
		}
	})
	tb.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return s
}

func (s *jaegerSink) spans() int64 { return s.n.Load() }

// jaegerClient is jaeger-client-go's tracer with a const sampler, 128-bit trace ids
// and a remote reporter (queue exportQueueSize, its default 1s flush interval) over
// its UDP transport to addr; the reporter's span counters are read through its
// Metrics (success: spans written to the socket; dropped: refused by a full queue).
type jaegerClient struct {
	tr                        opentracing.Tracer
	closer                    io.Closer
	success, dropped, failure *jaegerCounter
	closed                    bool
}

// jaegerCounter is a jaeger-lib metrics.Counter that can be read.
type jaegerCounter struct{ atomic.Int64 }

func (c *jaegerCounter) Inc(d int64) { c.Add(d) }

func newJaegerClient(tb testing.TB, addr string) *jaegerClient {
	tb.Helper()
	transport, err := jaegerclient.NewUDPTransport(addr, 0)
	if err != nil {
		tb.Fatal(err)
	}
	c := &jaegerClient{success: &jaegerCounter{}, dropped: &jaegerCounter{}, failure: &jaegerCounter{}}
	m := jaegerclient.NewNullMetrics()
	m.ReporterSuccess, m.ReporterDropped, m.ReporterFailure = c.success, c.dropped, c.failure
	rep := jaegerclient.NewRemoteReporter(transport, jaegerclient.ReporterOptions.QueueSize(exportQueueSize),
		jaegerclient.ReporterOptions.Metrics(m), jaegerclient.ReporterOptions.Logger(jaegerclient.NullLogger))
	c.tr, c.closer = jaegerclient.NewTracer("bench", jaegerclient.NewConstSampler(true), rep,
		jaegerclient.TracerOptions.Gen128Bit(true), jaegerclient.TracerOptions.Logger(jaegerclient.NullLogger))
	tb.Cleanup(func() { c.close() })
	return c
}

// close flushes the reporter's last datagram and stops it (once).
func (c *jaegerClient) close() {
	if !c.closed {
		c.closed = true
		_ = c.closer.Close()
	}
}

// done is how many spans the reporter has finished with: written, dropped or failed.
func (c *jaegerClient) done() int64 { return c.success.Load() + c.dropped.Load() + c.failure.Load() }

// jaegerClientSpan starts and ends the exported span through jaeger-client-go.
func jaegerClientSpan(tr opentracing.Tracer) {
	sp := tr.StartSpan(expSpanName, opentracing.Tag{Key: expStrKey, Value: expStrVal}, opentracing.Tag{Key: expIntKey, Value: expIntVal})
	sp.Finish()
	sinkJaegerSpan = sp
}

// runJaegerClient is the jaeger_client_go row. The reporter has no Flush: the loop
// waits, whenever half of its queue is in flight, until all but jaegerSlack spans are
// written (the reporter fills a datagram before writing it, and holds the last
// partial one until its 1s ticker), and at the end closes the reporter, which writes
// what it holds.
func runJaegerClient(b *testing.B) {
	sink := startJaegerSink(b, nil)
	c := newJaegerClient(b, sink.addr)
	// Warm. The reporter writes this span with the loop's first datagram (it would
	// otherwise wait for its 1s ticker), so the fresh sink will count it: base is 1.
	jaegerClientSpan(c.tr)
	base, doneBase := int64(1), c.done()
	cpu := startCPU(b)
	for i := range b.N {
		jaegerClientSpan(c.tr)
		if i%256 == 255 && int64(i+2)-(c.done()-doneBase) > exportQueueSize/2 {
			c.waitDone(b, doneBase+int64(i+2)-jaegerSlack)
		}
	}
	cpu.stop(func() {
		c.close()
		waitSpans(sink, base+int64(b.N), 5*time.Second)
	})
	if d := c.dropped.Load(); d > 0 {
		b.Logf("jaeger-client-go's reporter dropped %d spans", d)
	}
	reportSinkDrops(b, sink, base, b.N)
}

// jaegerSlack bounds the spans jaeger-client-go's reporter holds in its unsent
// datagram: a 65,000-byte datagram holds about 500 of these spans.
const jaegerSlack = 2_000

func (c *jaegerClient) waitDone(tb testing.TB, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for c.done() < n {
		if time.Now().After(deadline) {
			tb.Errorf("jaeger-client-go's reporter finished %d spans, want %d", c.done(), n)
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

func BenchmarkJaegerSpan(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		sink := startJaegerSink(b, nil)
		runStrataExport(b, newJaegerLayer(b, sink.addr), sink)
	})
	b.Run("jaeger_client_go", runJaegerClient)
	b.Run("otel_sdk_batch", runOTelOTLP)
}

// --- Datadog ------------------------------------------------------------------------

// ddAgent is a Datadog Agent's trace endpoint on 127.0.0.1 (httptest): PUT or POST
// /v0.4/traces reads the body, counts its spans (msgpackSpanCount) and answers
// {"rate_by_service":{}}; every other path (the tracer's /info discovery, stats,
// telemetry) gets 404, as from an agent without those features.
type ddAgent struct {
	url, addr string
	n         atomic.Int64
	requests  atomic.Int64
	malformed atomic.Int64
	other     atomic.Int64
	keep      func([]byte)
	bufs      sync.Pool // of *bytes.Buffer
}

// startDDAgent starts a ddAgent; keep, if not nil, gets every traces body (tests).
func startDDAgent(tb testing.TB, keep func([]byte)) *ddAgent {
	tb.Helper()
	a := &ddAgent{keep: keep}
	a.bufs.New = func() any { return new(bytes.Buffer) }
	srv := httptest.NewServer(http.HandlerFunc(a.serve)) // listens on 127.0.0.1
	tb.Cleanup(srv.Close)
	a.url = srv.URL
	a.addr = srv.Listener.Addr().String()
	return a
}

func (a *ddAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v0.4/traces" || (r.Method != http.MethodPut && r.Method != http.MethodPost) {
		a.other.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			a.malformed.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	// The body is read into a reused buffer, so that what the agent allocates does not
	// count against either side in -benchmem.
	buf := a.bufs.Get().(*bytes.Buffer)
	defer a.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		a.malformed.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b := buf.Bytes()
	n, err := msgpackSpanCount(b)
	if err != nil {
		a.malformed.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if a.keep != nil {
		a.keep(bytes.Clone(b))
	}
	a.requests.Add(1)
	a.n.Add(int64(n))
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"rate_by_service":{}}`)
}

func (a *ddAgent) spans() int64 { return a.n.Load() }

func BenchmarkDatadogSpan(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		agent := startDDAgent(b, nil)
		runStrataExport(b, newDatadogLayer(b, agent.url), agent)
	})
	b.Run("dd_trace_go", runDDTraceGo)
}

// --- Wire walks: span counts without decoding into values ---------------------------

var errShort = errors.New("truncated")

// thriftSpanCount returns the number of spans in a Jaeger agent emitBatch datagram
// (Thrift compact protocol: the message header, then emitBatch_args{1: Batch{1:
// Process, 2: list<Span>, ...}}), read from the list's header.
func thriftSpanCount(b []byte) (int, error) {
	if len(b) < 2 || b[0] != 0x82 || b[1]&0x1f != 1 {
		return 0, fmt.Errorf("thrift: not a compact protocol message")
	}
	b = b[2:]
	var err error
	if _, b, err = uvarint(b); err != nil { // seqid
		return 0, err
	}
	if b, err = thriftSkip(b, 8); err != nil { // method name
		return 0, err
	}
	// emitBatch_args: find field 1 (Batch), then in it field 2 (spans).
	for _, want := range []int{1, 2} {
		last := 0
		for {
			if len(b) == 0 {
				return 0, errShort
			}
			h := b[0]
			b = b[1:]
			if h == 0 {
				return 0, fmt.Errorf("thrift: field %d missing", want)
			}
			typ := h & 0x0f
			id := last + int(h>>4)
			if h>>4 == 0 {
				var v uint64
				if v, b, err = uvarint(b); err != nil {
					return 0, err
				}
				id = int(int16(v>>1) ^ -int16(v&1))
			}
			last = id
			if id == want {
				if want == 2 {
					if typ != 9 || len(b) == 0 {
						return 0, fmt.Errorf("thrift: Batch.spans is not a list")
					}
					n := int(b[0] >> 4)
					if n == 15 {
						v, _, err := uvarint(b[1:])
						return int(v), err
					}
					return n, nil
				}
				break // into the struct
			}
			if b, err = thriftSkip(b, typ); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil // unreachable
}

// thriftSkip skips one compact-protocol value of type typ.
func thriftSkip(b []byte, typ byte) ([]byte, error) {
	var err error
	switch typ {
	case 1, 2: // a bool field: in its header
		return b, nil
	case 3: // byte
		if len(b) < 1 {
			return nil, errShort
		}
		return b[1:], nil
	case 4, 5, 6: // zigzag varints
		_, b, err = uvarint(b)
		return b, err
	case 7: // double
		if len(b) < 8 {
			return nil, errShort
		}
		return b[8:], nil
	case 8: // binary
		var n uint64
		if n, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if uint64(len(b)) < n {
			return nil, errShort
		}
		return b[n:], nil
	case 9, 10: // list, set
		if len(b) < 1 {
			return nil, errShort
		}
		n, et := uint64(b[0]>>4), b[0]&0x0f
		b = b[1:]
		if n == 15 {
			if n, b, err = uvarint(b); err != nil {
				return nil, err
			}
		}
		for range n {
			if et == 1 || et == 2 { // bools in a collection: one byte each
				et = 3
			}
			if b, err = thriftSkip(b, et); err != nil {
				return nil, err
			}
		}
		return b, nil
	case 11: // map
		var n uint64
		if n, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if n == 0 {
			return b, nil
		}
		if len(b) < 1 {
			return nil, errShort
		}
		kt, vt := b[0]>>4, b[0]&0x0f
		b = b[1:]
		for range n {
			for _, t := range []byte{kt, vt} {
				if t == 1 || t == 2 {
					t = 3
				}
				if b, err = thriftSkip(b, t); err != nil {
					return nil, err
				}
			}
		}
		return b, nil
	case 12: // struct
		for {
			if len(b) < 1 {
				return nil, errShort
			}
			h := b[0]
			b = b[1:]
			if h == 0 {
				return b, nil
			}
			if h>>4 == 0 { // long-form field id
				if _, b, err = uvarint(b); err != nil {
					return nil, err
				}
			}
			if b, err = thriftSkip(b, h&0x0f); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("thrift: unknown type %d", typ)
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errShort
	}
	return v, b[n:], nil
}

// msgpackSpanCount returns the number of spans in a /v0.4/traces body: an array of
// traces, each an array of spans (maps), walked without building values.
func msgpackSpanCount(b []byte) (int, error) {
	traces, b, err := msgpackArrayLen(b)
	if err != nil {
		return 0, err
	}
	total := 0
	for range traces {
		var n int
		if n, b, err = msgpackArrayLen(b); err != nil {
			return 0, err
		}
		total += n
		for range n {
			if _, b, err = msgpackRead(b, false); err != nil {
				return 0, err
			}
		}
	}
	if len(b) != 0 {
		return 0, fmt.Errorf("msgpack: %d bytes after the traces", len(b))
	}
	return total, nil
}

func msgpackArrayLen(b []byte) (int, []byte, error) {
	if len(b) < 1 {
		return 0, nil, errShort
	}
	switch c := b[0]; {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), b[1:], nil
	case c == 0xdc && len(b) >= 3:
		return int(binary.BigEndian.Uint16(b[1:])), b[3:], nil
	case c == 0xdd && len(b) >= 5:
		return int(binary.BigEndian.Uint32(b[1:])), b[5:], nil
	}
	return 0, nil, fmt.Errorf("msgpack: want an array, got 0x%02x", b[0])
}

// msgpackRead reads one value; with keep it is built (map[string]any, []any, string,
// int64, uint64, float64, bool, []byte, nil), otherwise only skipped (nil returned).
func msgpackRead(b []byte, keep bool) (any, []byte, error) {
	if len(b) < 1 {
		return nil, nil, errShort
	}
	c := b[0]
	b = b[1:]
	fixed := func(n int) ([]byte, []byte, error) {
		if len(b) < n {
			return nil, nil, errShort
		}
		return b[:n], b[n:], nil
	}
	str := func(n int, asString bool) (any, []byte, error) {
		v, rest, err := fixed(n)
		if err != nil || !keep {
			return nil, rest, err
		}
		if asString {
			return string(v), rest, nil
		}
		return bytes.Clone(v), rest, nil
	}
	coll := func(n int, isMap bool) (any, []byte, error) {
		var m map[string]any
		var a []any
		if keep && isMap {
			m = make(map[string]any, n)
		} else if keep {
			a = make([]any, 0, n)
		}
		var err error
		for range n {
			var k, v any
			if isMap {
				if k, b, err = msgpackRead(b, keep); err != nil {
					return nil, nil, err
				}
			}
			if v, b, err = msgpackRead(b, keep); err != nil {
				return nil, nil, err
			}
			if keep && isMap {
				m[fmt.Sprint(k)] = v
			} else if keep {
				a = append(a, v)
			}
		}
		if isMap && keep {
			return m, b, nil
		}
		if keep {
			return a, b, nil
		}
		return nil, b, nil
	}
	be := func(n int) (uint64, []byte, error) {
		v, rest, err := fixed(n)
		if err != nil {
			return 0, nil, err
		}
		var u uint64
		for _, x := range v {
			u = u<<8 | uint64(x)
		}
		return u, rest, nil
	}
	switch {
	case c <= 0x7f && !keep, c >= 0xe0 && !keep:
		return nil, b, nil
	case c <= 0x7f:
		return int64(c), b, nil
	case c >= 0xe0:
		return int64(int8(c)), b, nil
	case c >= 0x80 && c <= 0x8f:
		return coll(int(c&0x0f), true)
	case c >= 0x90 && c <= 0x9f:
		return coll(int(c&0x0f), false)
	case c >= 0xa0 && c <= 0xbf:
		return str(int(c&0x1f), true)
	}
	switch c {
	case 0xc0:
		return nil, b, nil
	case 0xc2, 0xc3:
		return c == 0xc3, b, nil
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb: // bin 8/16/32, str 8/16/32
		w := 1 // bin 8, str 8
		switch c {
		case 0xc5, 0xda:
			w = 2
		case 0xc6, 0xdb:
			w = 4
		}
		n, rest, err := be(w)
		if err != nil {
			return nil, nil, err
		}
		b = rest
		return str(int(n), c >= 0xd9)
	case 0xca:
		u, rest, err := be(4)
		if !keep {
			return nil, rest, err // boxing a number allocates: only when kept
		}
		return float64(math.Float32frombits(uint32(u))), rest, err
	case 0xcb:
		u, rest, err := be(8)
		if !keep {
			return nil, rest, err
		}
		return math.Float64frombits(u), rest, err
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, rest, err := be(1 << (c - 0xcc))
		if !keep {
			return nil, rest, err
		}
		return u, rest, err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		u, rest, err := be(w)
		if !keep {
			return nil, rest, err
		}
		shift := 64 - 8*w
		return int64(u<<shift) >> shift, rest, err
	case 0xdc, 0xdd, 0xde, 0xdf:
		w := 2
		if c == 0xdd || c == 0xdf {
			w = 4
		}
		n, rest, err := be(w)
		if err != nil {
			return nil, nil, err
		}
		b = rest
		return coll(int(n), c >= 0xde)
	}
	return nil, nil, fmt.Errorf("msgpack: unsupported type byte 0x%02x", c)
}
