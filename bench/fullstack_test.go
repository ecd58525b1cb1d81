package bench

// The full stack: the request of request_test.go (root with 4 fields, two children with
// 2, one event with 3) through everything a service composes, against the closest
// equivalent stacks, in one interleaved run (BenchmarkFullStack/<library>):
//
//   - strata: the README composition (storage, logfmt behind STRATA_LOG=info with
//     locations, to io.Discard through a plain writer, metrics) plus the SkyWalking layer
//     behind the same directives, exporting through its queue, batching and sender
//     goroutine to an exporter that discards (skywalking.WithSegmentExporter): the seven
//     logfmt lines, the http_request series, and one segment of three spans with their
//     tags and the event as a log of the db span. No marshalling, no network.
//   - strata_async: the same with the AsyncWriter the README shows.
//   - otel_zap: the OpenTelemetry SDK (AlwaysSample, batch processor, an exporter that
//     discards) with the same spans and attributes, zap writing the event with trace_id
//     and span_id (request_test.go's otel_zap row), the metric through VictoriaMetrics
//     handles made once.
//   - go2sky_zerolog: go2sky (a reporter that does nothing with the segments it is given,
//     so neither conversion nor marshalling) with the same spans and tags and the event as
//     a span log, zerolog (timestamp, caller) writing the event with the trace, segment
//     and span ids and its 3 fields, the metric through VictoriaMetrics handles.
//
// The peers write one log line (the event), Strata seven (span open/close lines with
// inherited fields): what each stack's users get. ns/op is wall time on the benchmark's
// goroutine; cpu-ns/op counts every goroutine (the SkyWalking sender, the AsyncWriter,
// the batch processor, go2sky's per-segment goroutines), background work flushed inside
// the measurement. TestFullStackPeersDoTheSameWork (fullstack_fairness_test.go) checks
// that the rows export the same spans, tags, span logs, event fields and metric series.

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/SkyAPM/go2sky"
	vm "github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// fullStack is the README composition with the SkyWalking layer exporting to an
// exporter function, and its handles.
type fullStack struct {
	tr    *subscriber.Tracer
	sw    *skywalking.Layer
	met   *metrics.Layer
	async *logfmt.AsyncWriter // nil for the sync writer
}

// discardSegments is a segment exporter that keeps nothing.
func discardSegments(context.Context, []*agentv3.SegmentObject) error { return nil }

// newFullStack builds the full stack writing its lines to w (through an AsyncWriter when
// async is set) and handing segments to export.
func newFullStack(tb testing.TB, w io.Writer, async bool, export func(context.Context, []*agentv3.SegmentObject) error) *fullStack {
	tb.Helper()
	directives, err := filter.Parse("info") // what filter.FromEnv gives with STRATA_LOG=info
	if err != nil {
		tb.Fatal(err)
	}
	s := &fullStack{met: metrics.New(), sw: newSkyWalking(tb, "", skywalking.WithSegmentExporter(export))}
	out := w
	if async {
		s.async = logfmt.NewAsyncWriter(w)
		out = s.async
	}
	d, err := subscriber.New(storage.New(),
		subscriber.WithFilter(logfmt.New(out), directives),
		s.met,
		s.sw) // unfiltered, as in the README: STRATA_LOG quiets the log, not the traces
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { shutdownQuickly(d) })
	s.tr = d.Tracer(readmeTarget)
	s.tr.Enabled(subscriber.LevelInfo)
	return s
}

// zerologJSON is zerolog as its users configure it for services: JSON, a timestamp, and
// the caller on every event (zap's production encoder with AddCaller writes the same).
func zerologJSON(w io.Writer) zerolog.Logger {
	return zerolog.New(w).With().Timestamp().Logger()
}

// go2skyZerologEvent writes the request's event line with zerolog, with go2sky's ids.
func go2skyZerologEvent(l zerolog.Logger) func(context.Context) {
	return func(dbCtx context.Context) {
		l.Info().Caller().
			Str("trace_id", go2sky.TraceID(dbCtx)).Str("segment_id", go2sky.TraceSegmentID(dbCtx)).
			Int32("span_id", go2sky.SpanID(dbCtx)).
			Int("song.id", reqSongID).Str("song.title", reqTitle).Int("rows", 1).Msg(reqMsg)
	}
}

// BenchmarkFullStack: one request per op through the full stack of each library (see the
// top of this file). Wall and CPU time; drop-% for Strata's SkyWalking queue and
// AsyncWriter.
func BenchmarkFullStack(b *testing.B) {
	ctx := context.Background()
	strata := func(b *testing.B, async bool) {
		s := newFullStack(b, io.Discard, async, discardSegments)
		strataRequest(ctx, s.tr) // warm: the metric series, the caller's location, the pools
		st := snapshotSW(s.sw)
		st.flush(b)
		st = snapshotSW(s.sw)
		var aw asyncStats
		flush := func() { st.flush(b) }
		if async {
			aw = snapshotAsync(s.async)
			aw.flush(b)
			aw = snapshotAsync(s.async)
			flush = func() {
				st.flush(b)
				aw.flush(b)
			}
		}
		cpu := startCPU(b)
		for i := range b.N {
			strataRequest(ctx, s.tr)
			// Keep the sender up with the loop, inside the measurement, so that no
			// segment is refused and its cost escapes the figures (as SkyWalkingSpan).
			if i%1024 == 1023 && s.sw.Stats().Queued > skywalking.DefaultQueueSize/2 {
				st.flush(b)
			}
		}
		cpu.stop(flush)
		st.report(b)
		if async {
			aw.report(b)
		}
	}
	b.Run("strata", func(b *testing.B) { strata(b, false) })
	b.Run("strata_async", func(b *testing.B) { strata(b, true) })
	b.Run("otel_zap", func(b *testing.B) {
		tp := otelBatchProvider(b)
		tr := tp.Tracer(readmeTarget)
		m := newReqMetric(vm.NewSet())
		ev := zapEvent(zapJSON(io.Discard))
		otelRequest(ctx, tr, m, ev)
		if err := tp.ForceFlush(ctx); err != nil {
			b.Fatal(err)
		}
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
	b.Run("go2sky_zerolog", func(b *testing.B) {
		tr, rep := newGosky(b)
		m := newReqMetric(vm.NewSet())
		ev := go2skyZerologEvent(zerologJSON(io.Discard))
		go2skyRequest(b, ctx, tr, m, ev)
		rep.wait(b, 1)
		base := rep.segments.Load()
		cpu := startCPU(b)
		for range b.N {
			go2skyRequest(b, ctx, tr, m, ev)
		}
		cpu.stop(func() { rep.wait(b, base+int64(b.N)) })
	})
}

// segmentKeeper is a segment exporter that keeps copies of what it is given (tests
// only: the layer reuses the segments' memory after export returns).
type segmentKeeper struct {
	mu   sync.Mutex
	segs []*agentv3.SegmentObject
}

func (k *segmentKeeper) export(_ context.Context, segs []*agentv3.SegmentObject) error {
	k.mu.Lock()
	for _, seg := range segs {
		k.segs = append(k.segs, proto.Clone(seg).(*agentv3.SegmentObject))
	}
	k.mu.Unlock()
	return nil
}
