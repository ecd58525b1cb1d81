package bench

// A request, as a service handles one: a root span with 4 fields, two child spans with 2
// fields each, one event with 3 fields in the first child, every span ended.
//
//	HTTP request        http.method=POST http.route=/songs metric_name=http_request metric_label_route=/songs
//	├─ db.insert        db.system=postgresql db.operation=insert
//	│    event "inserted song"  song.id=42 song.title="Blue in Green" rows=1
//	└─ vendor.lastfm.task  vendor=lastfm attempt=1
//
// What each side does per request:
//
//   - strata_sync, strata_async: the README composition (readme_test.go) at info, with
//     locations, to io.Discard directly or through the AsyncWriter the README shows.
//     Seven logfmt lines (new_span and close_span for each span, the event line, each
//     carrying the span's own and inherited fields), storage keeps the fields, and the
//     metrics layer updates http_request_total and http_request_duration_seconds
//     {route, result, span_name} at the root's close.
//   - otel_zap: the OpenTelemetry SDK (AlwaysSample, batch span processor, an exporter
//     that discards) records the same three spans with the same attributes, and zap
//     (production JSON encoder, AddCaller, io.Discard) writes the event with trace_id and
//     span_id and its 3 fields; the same counter and histogram are updated through
//     VictoriaMetrics handles made once. No span lines and no inherited fields on the
//     event line: that is what users of this stack get.
//   - otel_slog_json: the same, with slog's JSONHandler (AddSource) writing the event.
//   - zerolog: zerolog writes the same seven lines as Strata (zerolines_test.go), and
//     updates the same metric through VictoriaMetrics handles made once. No spans are
//     kept or exported: the logging floor.
//
// Both ns/op (wall) and cpu-ns/op (process CPU, cpu_test.go) are reported: the
// AsyncWriter and the batch processor work on goroutines of their own, which wall time
// on the benchmark's goroutine does not see. Background work is flushed before the
// measurement stops; the async row reports the share of lines dropped (drop-%).

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
)

const (
	reqMsg    = "inserted song"
	reqSongID = 42
	reqTitle  = "Blue in Green"
)

// strataRequest is the request through a Strata tracer.
func strataRequest(ctx context.Context, tr *subscriber.Tracer) {
	ctx, root := tr.Start(ctx, "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"),
		slog.String("metric_name", "http_request"), slog.String("metric_label_route", "/songs"))
	dbCtx, db := tr.Start(ctx, "db.insert", slog.String("db.system", "postgresql"), slog.String("db.operation", "insert"))
	tr.Info(dbCtx, reqMsg, slog.Int("song.id", reqSongID), slog.String("song.title", reqTitle), slog.Int("rows", 1))
	db.End()
	_, vendor := tr.Start(ctx, "vendor.lastfm.task", slog.String("vendor", "lastfm"), slog.Int("attempt", 1))
	vendor.End()
	root.End()
}

// reqMetric is the metric the request's root updates, as a peer keeps it: VictoriaMetrics
// handles made once, for the series Strata's metrics layer derives.
type reqMetric struct {
	total *vm.Counter
	dur   *vm.PrometheusHistogram
}

const reqSeriesLabels = `{result="ok",route="/songs",span_name="HTTP request"}`

func newReqMetric(set *vm.Set) reqMetric {
	return reqMetric{
		total: set.NewCounter("http_request_total" + reqSeriesLabels),
		dur:   set.NewPrometheusHistogramExt("http_request_duration_seconds"+reqSeriesLabels, metrics.DefaultBuckets),
	}
}

func (m reqMetric) observe(d time.Duration) {
	m.total.Inc()
	m.dur.Update(d.Seconds())
}

// otelRequest is the request's spans through an OpenTelemetry tracer; logEvent writes
// the event with the db span's context.
func otelRequest(ctx context.Context, tr trace.Tracer, m reqMetric, logEvent func(ctx context.Context, sc trace.SpanContext)) {
	start := time.Now()
	ctx, root := tr.Start(ctx, "HTTP request", trace.WithAttributes(
		attribute.String("http.method", "POST"), attribute.String("http.route", "/songs"),
		attribute.String("metric_name", "http_request"), attribute.String("metric_label_route", "/songs")))
	dbCtx, db := tr.Start(ctx, "db.insert", trace.WithAttributes(
		attribute.String("db.system", "postgresql"), attribute.String("db.operation", "insert")))
	logEvent(dbCtx, trace.SpanContextFromContext(dbCtx))
	db.End()
	_, vendor := tr.Start(ctx, "vendor.lastfm.task", trace.WithAttributes(
		attribute.String("vendor", "lastfm"), attribute.Int("attempt", 1)))
	vendor.End()
	root.End()
	m.observe(time.Since(start))
}

// zapEvent and slogEvent log the request's event with trace_id and span_id, as an
// OpenTelemetry user correlates logs.
func zapEvent(l *zap.Logger) func(context.Context, trace.SpanContext) {
	return func(_ context.Context, sc trace.SpanContext) {
		l.Info(reqMsg, zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String()),
			zap.Int("song.id", reqSongID), zap.String("song.title", reqTitle), zap.Int("rows", 1))
	}
}

func slogEvent(l *slog.Logger) func(context.Context, trace.SpanContext) {
	return func(ctx context.Context, sc trace.SpanContext) {
		l.LogAttrs(ctx, slog.LevelInfo, reqMsg,
			slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()),
			slog.Int("song.id", reqSongID), slog.String("song.title", reqTitle), slog.Int("rows", 1))
	}
}

func zapJSON(w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel), zap.AddCaller())
}

func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{AddSource: true}))
}

// zerologRequest writes the seven lines Strata writes for the request, with zerolog.
func zerologRequest(base zerolog.Logger, m reqMetric) {
	root := zlStart(zlTrace(base).
		Str("http.method", "POST").Str("http.route", "/songs").
		Str("metric_name", "http_request").Str("metric_label_route", "/songs"), nil, "HTTP request")
	db := zlStart(root.l.With().Str("db.system", "postgresql").Str("db.operation", "insert"), &root, "db.insert")
	db.l.Info().Int("song.id", reqSongID).Str("song.title", reqTitle).Int("rows", 1).
		Str("target", readmeTarget).Caller().Timestamp().Uint64("span", db.id).Msg(reqMsg)
	db.end()
	vendor := zlStart(root.l.With().Str("vendor", "lastfm").Int("attempt", 1), &root, "vendor.lastfm.task")
	vendor.end()
	m.observe(root.end())
}

// otelBatchProvider is the SDK with a batch processor and an exporter that discards.
func otelBatchProvider(tb testing.TB) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// requestCase is one row of BenchmarkRequest: setup returns the request to run (one
// call = one request), the function that flushes its background work (called inside
// the measurement) and one that reports after it (the AsyncWriter's drop-%).
type requestCase struct {
	name  string
	setup func(b *testing.B) (req func(context.Context), flush func(), after func())
}

func requestCases() []requestCase {
	strata := func(async bool) func(b *testing.B) (func(context.Context), func(), func()) {
		return func(b *testing.B) (func(context.Context), func(), func()) {
			s := newReadme(b, io.Discard, async)
			req := func(ctx context.Context) { strataRequest(ctx, s.tr) }
			if !async {
				return req, func() {}, func() {}
			}
			st := snapshotAsync(s.async)
			return req, func() { st.flush(b) }, func() { st.report(b) }
		}
	}
	otel := func(logEvent func(io.Writer) func(context.Context, trace.SpanContext)) func(b *testing.B) (func(context.Context), func(), func()) {
		return func(b *testing.B) (func(context.Context), func(), func()) {
			tp := otelBatchProvider(b)
			tr := tp.Tracer(readmeTarget)
			m := newReqMetric(vm.NewSet())
			ev := logEvent(io.Discard)
			req := func(ctx context.Context) { otelRequest(ctx, tr, m, ev) }
			flush := func() {
				if err := tp.ForceFlush(context.Background()); err != nil {
					b.Error(err)
				}
			}
			return req, flush, func() {}
		}
	}
	return []requestCase{
		{"strata_sync", strata(false)},
		{"strata_async", strata(true)},
		{"otel_zap", otel(func(w io.Writer) func(context.Context, trace.SpanContext) { return zapEvent(zapJSON(w)) })},
		{"otel_slog_json", otel(func(w io.Writer) func(context.Context, trace.SpanContext) { return slogEvent(slogJSON(w)) })},
		{"zerolog", func(b *testing.B) (func(context.Context), func(), func()) {
			zerologAsStrata(b)
			base := zlBase(io.Discard)
			m := newReqMetric(vm.NewSet())
			return func(context.Context) { zerologRequest(base, m) }, func() {}, func() {}
		}},
	}
}

// BenchmarkRequest: one request per op. DESIGN.md: strata (CPU) ≤ 0.5x otel_zap and ≤
// zerolog; strata_async ≤ 1.2x strata_sync in CPU, drops reported.
func BenchmarkRequest(b *testing.B) {
	for _, rc := range requestCases() {
		b.Run(rc.name, func(b *testing.B) {
			req, flush, after := rc.setup(b)
			ctx := context.Background()
			req(ctx) // warm: the metric series exists, the caller's location is cached
			flush()
			cpu := startCPU(b)
			for range b.N {
				req(ctx)
			}
			cpu.stop(flush)
			after()
		})
	}
}

// BenchmarkRequestParallel: the same requests from GOMAXPROCS goroutines (run.sh runs
// the Parallel benchmarks with -cpu 1 and with all cores).
func BenchmarkRequestParallel(b *testing.B) {
	for _, rc := range requestCases() {
		b.Run(rc.name, func(b *testing.B) {
			req, flush, after := rc.setup(b)
			req(context.Background())
			flush()
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					req(ctx)
				}
			})
			cpu.stop(flush)
			after()
		})
	}
}
