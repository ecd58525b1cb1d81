package bench

// SkyWalking: the sw8 codec, a span through storage + the SkyWalking layer, and the
// request of request_test.go exported to SkyWalking, against go2sky (SkyWalking's Go
// agent, v1.5.0) and the OpenTelemetry SDK.
//
//   - SW8Encode, SW8Decode: Strata's codec (skywalking.SW8.Encode, AppendSW8 into a
//     reused buffer, DecodeSW8) against go2sky's propagation.SpanContext (EncodeSW8,
//     DecodeSW8), on the same header.
//   - SkyWalkingSpan: a root span started and ended, no fields. strata: storage +
//     skywalking, reporting to a collector on 127.0.0.1 that reads the stream and
//     discards it (discardCollector): every segment is assembled, queued, marshalled
//     and sent by the layer's sender goroutine, whose CPU (and the collector's frame
//     reading) cpu-ns/op counts; drop-% says how many segments the queue refused.
//     On 2 cores the sender cannot keep up with a loop of spans (about half the
//     segments would be refused), so the loop waits for it (Flush) whenever the queue
//     is half full: drop-% is 0 and ns/op includes the time the loop waited, so both
//     figures are the sustained cost of exporting every span.
//     strata_queue: the same with WithSegmentExporter and an exporter that discards
//     the batches: assembly, the queue and the sender goroutine, no marshalling or
//     network. The row judged against the budget (DESIGN.md: "queue, no network").
//     strata_unreachable: the same with a collector address nobody listens on: the
//     first 10,000 segments fill the queue, every later one is assembled and refused
//     (drop-% near 100): what a span costs its own goroutine, assembly and the enqueue
//     attempt, with no sender competing for the cores. (A queue as long as b.N holds
//     every segment instead, and the GC's scanning of that growing heap then dominates
//     the row.) The layer's own BenchmarkRequest/queue (layers/skywalking) measures
//     the queue with a sender that discards, which this module cannot reach.
//     otel_sdk_batch: the SDK with a batch processor and an
//     exporter that discards. go2sky: go2sky's tracer with a reporter that does nothing
//     with the spans it is given (goskyCounter), so go2sky's own segment assembly
//     (a goroutine per segment and one per ended non-root span) is measured without the
//     conversion to a SegmentObject and the marshalling its gRPC reporter would add.
//   - RequestSkyWalking: the request of request_test.go (root, two children, one
//     event). strata_sync is the README composition (the Request case's row, for
//     reference); strata_sync_skywalking adds the SkyWalking layer, behind the same
//     directives, reporting to the discarding collector (the event also becomes a log
//     of its span); go2sky_zap is go2sky with the same spans and tags, the event as a
//     span log and as a zap line with the trace and segment ids, and the same metric
//     through VictoriaMetrics handles; otel_zap is the Request case's row.
//
// Background work is flushed inside the measurement (the layer's Flush, the SDK's
// ForceFlush, go2sky: until the reporter has every segment), so cpu-ns/op counts it.
// skywalking_fairness_test.go checks that the rows export what they claim.

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/SkyAPM/go2sky"
	"github.com/SkyAPM/go2sky/propagation"
	vm "github.com/VictoriaMetrics/metrics"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// swHeader is the sw8 header both codecs encode and decode: a 32-hex trace and segment
// id, as Strata writes them, and the names a real call carries.
var swHeader = skywalking.SW8{
	Sampled:             true,
	TraceID:             "0af7651916cd43dd8448eb211c80319c",
	ParentSegmentID:     "b7ad6b7169203331b7ad6b7169203331",
	ParentSpanID:        1,
	ParentService:       "gateway",
	ParentInstance:      "12345@gw-host",
	ParentEndpoint:      "GET /api/songs",
	AddressUsedAtClient: "songs:8080",
}

// goskyHeader is swHeader for go2sky.
func goskyHeader() propagation.SpanContext {
	return propagation.SpanContext{
		Sample:                1,
		TraceID:               swHeader.TraceID,
		ParentSegmentID:       swHeader.ParentSegmentID,
		ParentSpanID:          swHeader.ParentSpanID,
		ParentService:         swHeader.ParentService,
		ParentServiceInstance: swHeader.ParentInstance,
		ParentEndpoint:        swHeader.ParentEndpoint,
		AddressUsedAtClient:   swHeader.AddressUsedAtClient,
	}
}

var (
	sinkString string
	sinkBytes  []byte
	sinkSWHdr  skywalking.SW8
	sinkGosky  go2sky.Span
	sinkErr    error
)

func BenchmarkSW8Encode(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		h := swHeader
		b.ReportAllocs()
		for range b.N {
			sinkString = h.Encode()
		}
	})
	b.Run("strata_append", func(b *testing.B) {
		h := swHeader
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for range b.N {
			buf = skywalking.AppendSW8(buf[:0], h)
		}
		sinkBytes = buf
	})
	b.Run("go2sky", func(b *testing.B) {
		tc := goskyHeader()
		b.ReportAllocs()
		for range b.N {
			sinkString = tc.EncodeSW8()
		}
	})
}

func BenchmarkSW8Decode(b *testing.B) {
	s := swHeader.Encode()
	b.Run("strata", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			sinkSWHdr, sinkErr = skywalking.DecodeSW8(s)
		}
	})
	b.Run("go2sky", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var tc propagation.SpanContext
			sinkErr = tc.DecodeSW8(s)
			sinkString = tc.TraceID
		}
	})
}

// discardCollector is a SkyWalking collector on 127.0.0.1 that reads every call and
// keeps nothing: a codec that does not decode, one handler for every method. It counts
// the messages received on the segment stream.
type discardCollector struct {
	addr     string
	segments atomic.Int64
	// decoded, when set before use, receives every segment's raw bytes (tests only).
	decoded func([]byte)
}

const collectMethod = "/skywalking.v3.TraceSegmentReportService/collect"

func startDiscardCollector(tb testing.TB) *discardCollector {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &discardCollector{addr: ln.Addr().String()}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{c}), grpc.UnknownServiceHandler(c.handle))
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	tb.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	return c
}

// handle reads a call's messages to its end and answers one empty message (an empty
// Commands): what a collector answers to collect, keepAlive and instance properties.
func (c *discardCollector) handle(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	for {
		var m rawMsg
		err := stream.RecvMsg(&m)
		if errors.Is(err, io.EOF) {
			return stream.SendMsg(&rawMsg{})
		}
		if err != nil {
			return err
		}
		if method == collectMethod {
			c.segments.Add(1)
			if c.decoded != nil {
				c.decoded(m.b)
			}
		}
	}
}

// rawMsg is a message the codec does not decode.
type rawMsg struct{ b []byte }

// rawCodec leaves messages undecoded (it copies them only for a test's decoded hook)
// and encodes every answer as an empty message.
type rawCodec struct{ c *discardCollector }

func (rawCodec) Marshal(any) (mem.BufferSlice, error) { return mem.BufferSlice{}, nil }
func (rawCodec) Name() string                         { return "proto" }

func (r rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMsg); ok && r.c.decoded != nil {
		m.b = data.Materialize()
	}
	return nil
}

// unreachableAddr returns a 127.0.0.1 address nobody listens on.
func unreachableAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newSkyWalking returns a SkyWalking layer reporting to addr ("": none, an exporter
// option then), silent about a collector
// it cannot reach.
func newSkyWalking(tb testing.TB, addr string, opts ...skywalking.Option) *skywalking.Layer {
	tb.Helper()
	if addr != "" {
		opts = append([]skywalking.Option{skywalking.WithCollector(addr)}, opts...)
	}
	l, err := skywalking.New(append([]skywalking.Option{skywalking.WithService("bench"),
		skywalking.WithInstance("bench-1"), skywalking.WithLogf(func(string, ...any) {})}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// swTracer is strataTracer for a dispatch with the SkyWalking layer: shutting it down
// waits for the collector, so it gets a deadline (what an unreachable collector costs
// then is not measured).
func swTracer(tb testing.TB, target string, layers ...subscriber.Layer) *subscriber.Tracer {
	tb.Helper()
	d, err := subscriber.New(layers...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { shutdownQuickly(d) })
	tr := d.Tracer(target)
	tr.Enabled(subscriber.LevelInfo)
	return tr
}

// shutdownQuickly shuts d down within 100ms; with an unreachable collector the error
// only says what was not delivered.
func shutdownQuickly(d *subscriber.Dispatch) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d.Shutdown(ctx)
}

// swStats reports the share of segments a layer did not get to the collector since a
// snapshot, as drop-%.
type swStats struct {
	l    *skywalking.Layer
	base skywalking.Stats
}

func snapshotSW(l *skywalking.Layer) swStats { return swStats{l: l, base: l.Stats()} }

func (s swStats) flush(tb testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.l.Flush(ctx); err != nil {
		tb.Error(err)
	}
}

func (s swStats) report(b *testing.B) {
	st := s.l.Stats()
	segs := st.Segments - s.base.Segments
	if segs == 0 {
		return
	}
	lost := (st.Dropped - s.base.Dropped) + (st.Failed - s.base.Failed) + (st.Refused - s.base.Refused)
	b.ReportMetric(100*float64(lost)/float64(segs), "drop-%")
}

// goskyCounter is a go2sky reporter that keeps nothing and counts the segments it is
// given, so that a benchmark can wait for go2sky's per-segment goroutines.
type goskyCounter struct {
	segments atomic.Int64
	spans    atomic.Int64
	keep     func([]go2sky.ReportedSpan) // tests only
}

func (*goskyCounter) Boot(string, string, []go2sky.AgentConfigChangeWatcher) {}
func (*goskyCounter) Close()                                                 {}

func (r *goskyCounter) Send(spans []go2sky.ReportedSpan) {
	if r.keep != nil {
		r.keep(spans)
	}
	r.spans.Add(int64(len(spans)))
	r.segments.Add(1)
}

// wait waits until the reporter has n segments in all, at most 30s.
func (r *goskyCounter) wait(tb testing.TB, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for r.segments.Load() < n {
		if time.Now().After(deadline) {
			tb.Errorf("go2sky reported %d segments, want %d", r.segments.Load(), n)
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func newGosky(tb testing.TB) (*go2sky.Tracer, *goskyCounter) {
	tb.Helper()
	rep := &goskyCounter{}
	tr, err := go2sky.NewTracer("bench", go2sky.WithReporter(rep), go2sky.WithInstance("bench-1"))
	if err != nil {
		tb.Fatal(err)
	}
	return tr, rep
}

// go2skyStartEnd starts and ends a root local span.
func go2skyStartEnd(tb testing.TB, ctx context.Context, tr *go2sky.Tracer) {
	sp, c, err := tr.CreateLocalSpan(ctx, go2sky.WithOperationName("op"))
	if err != nil {
		tb.Fatal(err)
	}
	sp.End()
	sinkCtx, sinkGosky = c, sp
}

func BenchmarkSkyWalkingSpan(b *testing.B) {
	ctx := context.Background()
	strata := func(b *testing.B, addr string, flush bool, opts ...skywalking.Option) {
		l := newSkyWalking(b, addr, opts...)
		tr := swTracer(b, "bench", storage.New(), l)
		c, sp := tr.Start(ctx, "op") // warm: the connection and the pools
		sp.End()
		sinkCtx = c
		st := snapshotSW(l)
		if flush {
			st.flush(b)
			st = snapshotSW(l)
		}
		cpu := startCPU(b)
		for i := range b.N {
			c, sp := tr.Start(ctx, "op")
			sp.End()
			sinkCtx, sinkSpan = c, sp
			// Keep the sender up with the loop, inside the measurement, so that no
			// segment is refused and its cost escapes the figures.
			if flush && i%1024 == 1023 && l.Stats().Queued > skywalking.DefaultQueueSize/2 {
				st.flush(b)
			}
		}
		if flush {
			cpu.stop(func() { st.flush(b) })
		} else {
			cpu.stop()
		}
		st.report(b)
	}
	b.Run("strata", func(b *testing.B) {
		strata(b, startDiscardCollector(b).addr, true)
	})
	b.Run("strata_queue", func(b *testing.B) {
		// The row judged against the budget: the layer's queue, batching and sender
		// goroutine, with an exporter that discards (WithSegmentExporter) instead of the
		// network. cpu-ns/op counts the sender goroutine's work too.
		strata(b, "", true, skywalking.WithSegmentExporter(
			func(context.Context, []*agentv3.SegmentObject) error { return nil }))
	})
	b.Run("strata_unreachable", func(b *testing.B) {
		strata(b, unreachableAddr(b), false)
	})
	b.Run("otel_sdk_batch", func(b *testing.B) {
		tp := otelBatchProvider(b)
		tr := tp.Tracer("bench")
		cpu := startCPU(b)
		for range b.N {
			c, sp := tr.Start(ctx, "op")
			sp.End()
			sinkCtx, sinkOtel = c, sp
		}
		cpu.stop(func() {
			if err := tp.ForceFlush(context.Background()); err != nil {
				b.Error(err)
			}
		})
	})
	b.Run("go2sky", func(b *testing.B) {
		tr, rep := newGosky(b)
		go2skyStartEnd(b, ctx, tr)
		rep.wait(b, 1)
		base := rep.segments.Load()
		cpu := startCPU(b)
		for range b.N {
			go2skyStartEnd(b, ctx, tr)
		}
		cpu.stop(func() { rep.wait(b, base+int64(b.N)) })
	})
}

// newReadmeSkyWalking is the README composition (newReadme, sync writer) with the
// SkyWalking layer added behind the same directives, reporting to addr.
func newReadmeSkyWalking(tb testing.TB, w io.Writer, addr string) (*subscriber.Tracer, *skywalking.Layer) {
	tb.Helper()
	directives, err := filter.Parse("info")
	if err != nil {
		tb.Fatal(err)
	}
	sw := newSkyWalking(tb, addr)
	d, err := subscriber.New(storage.New(),
		subscriber.WithFilter(logfmt.New(w), directives),
		metrics.New(),
		subscriber.WithFilter(sw, directives))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { shutdownQuickly(d) })
	tr := d.Tracer(readmeTarget)
	tr.Enabled(subscriber.LevelInfo)
	return tr, sw
}

// go2skyRequest is the request through go2sky: the same spans and tags, the event as a
// log of the db span and as a log line (logEvent, given the db span's ctx) carrying the
// trace and segment ids, and the metric through handles made once.
func go2skyRequest(tb testing.TB, ctx context.Context, tr *go2sky.Tracer, m reqMetric, logEvent func(dbCtx context.Context)) {
	start := time.Now()
	root, ctx, err := tr.CreateLocalSpan(ctx, go2sky.WithOperationName("HTTP request"))
	if err != nil {
		tb.Fatal(err)
	}
	// Strata exports the root's fields as tags except metric_*, which only name the
	// metric; go2sky gets the same tags, and the metric goes to the handles.
	root.Tag("http.method", "POST")
	root.Tag("http.route", "/songs")
	db, dbCtx, err := tr.CreateLocalSpan(ctx, go2sky.WithOperationName("db.insert"))
	if err != nil {
		tb.Fatal(err)
	}
	db.Tag("db.system", "postgresql")
	db.Tag("db.operation", "insert")
	db.Log(time.Now(), "event", "info", "message", reqMsg,
		"song.id", strconv.Itoa(reqSongID), "song.title", reqTitle, "rows", "1")
	logEvent(dbCtx)
	db.End()
	vendor, _, err := tr.CreateLocalSpan(ctx, go2sky.WithOperationName("vendor.lastfm.task"))
	if err != nil {
		tb.Fatal(err)
	}
	vendor.Tag("vendor", "lastfm")
	vendor.Tag("attempt", "1")
	vendor.End()
	root.End()
	m.observe(time.Since(start))
}

// go2skyZapEvent writes the request's event line with zap, with go2sky's ids.
func go2skyZapEvent(l *zap.Logger) func(context.Context) {
	return func(dbCtx context.Context) {
		l.Info(reqMsg, zap.String("trace_id", go2sky.TraceID(dbCtx)), zap.String("segment_id", go2sky.TraceSegmentID(dbCtx)),
			zap.Int32("span_id", go2sky.SpanID(dbCtx)),
			zap.Int("song.id", reqSongID), zap.String("song.title", reqTitle), zap.Int("rows", 1))
	}
}

// BenchmarkRequestSkyWalking: one request per op, exported to SkyWalking (see the top of
// this file). Wall and CPU time; drop-% for the Strata row that exports.
func BenchmarkRequestSkyWalking(b *testing.B) {
	ctx := context.Background()
	b.Run("strata_sync", func(b *testing.B) {
		s := newReadme(b, io.Discard, false)
		strataRequest(ctx, s.tr)
		cpu := startCPU(b)
		for range b.N {
			strataRequest(ctx, s.tr)
		}
		cpu.stop()
	})
	b.Run("strata_sync_skywalking", func(b *testing.B) {
		tr, sw := newReadmeSkyWalking(b, io.Discard, startDiscardCollector(b).addr)
		strataRequest(ctx, tr)
		st := snapshotSW(sw)
		st.flush(b)
		cpu := startCPU(b)
		for i := range b.N {
			strataRequest(ctx, tr)
			if i%1024 == 1023 && sw.Stats().Queued > skywalking.DefaultQueueSize/2 {
				st.flush(b) // as in SkyWalkingSpan/strata: nothing refused
			}
		}
		cpu.stop(func() { st.flush(b) })
		st.report(b)
	})
	b.Run("go2sky_zap", func(b *testing.B) {
		tr, rep := newGosky(b)
		m := newReqMetric(vm.NewSet())
		ev := go2skyZapEvent(zapJSON(io.Discard))
		go2skyRequest(b, ctx, tr, m, ev)
		rep.wait(b, 1)
		base := rep.segments.Load()
		cpu := startCPU(b)
		for range b.N {
			go2skyRequest(b, ctx, tr, m, ev)
		}
		cpu.stop(func() { rep.wait(b, base+int64(b.N)) })
	})
	b.Run("otel_zap", func(b *testing.B) {
		tp := otelBatchProvider(b)
		tr := tp.Tracer(readmeTarget)
		m := newReqMetric(vm.NewSet())
		ev := zapEvent(zapJSON(io.Discard))
		otelRequest(ctx, tr, m, ev)
		cpu := startCPU(b)
		for range b.N {
			otelRequest(ctx, tr, m, ev)
		}
		cpu.stop(func() {
			if err := tp.ForceFlush(context.Background()); err != nil {
				b.Error(err)
			}
		})
	})
}
