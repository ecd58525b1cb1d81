package bench

// Core benchmarks: the cost of a span or event that is disabled (by level, by a target
// directive), of a span through the registry alone, and of an enabled event, each next to
// the peers a user would otherwise pick. The DESIGN.md budgets these figures are judged
// against, and the latest figures, are in RESULTS.md.
//
// Naming: Benchmark<Case>/<library>, so that benchstat puts each peer on a row of the
// case's table. Every benchmark reports allocations.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

// Sinks keep results alive so that the compiler cannot drop the measured calls.
var (
	sinkCtx  context.Context
	sinkSpan subscriber.Span
	sinkOtel trace.Span
)

// discardLayer does nothing, in the two hooks the benchmarks need: OnClose makes it a
// span layer (so the registry is exercised), OnEvent an event layer.
type discardLayer struct{}

func (discardLayer) OnClose(subscriber.SpanRef) {}
func (discardLayer) OnEvent(*subscriber.Event)  {}

// discardExporter is an OpenTelemetry span exporter that drops what it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// nopHandler is a slog handler that enables everything and does nothing: slog's own
// front-end cost, the peer of an event reaching a do-nothing layer.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// Setups. Tracers are made once, as a package-level variable would be, and warmed so
// that their per-target cache is filled before the timer starts.

func strataTracer(b *testing.B, target string, layers ...subscriber.Layer) *subscriber.Tracer {
	b.Helper()
	d, err := subscriber.New(layers...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	tr := d.Tracer(target)
	tr.Enabled(subscriber.LevelInfo)
	return tr
}

// warnTracer: the dispatch's only layer is filtered at WARN, so INFO is disabled.
func warnTracer(b *testing.B) *subscriber.Tracer {
	return strataTracer(b, "bench", subscriber.WithFilter(discardLayer{}, filter.Level(subscriber.LevelWarn)))
}

// hotTracer: INFO passes the dispatch's level floor, but the target directive turns the
// tracer's target off.
func hotTracer(b *testing.B) *subscriber.Tracer {
	f, err := filter.Parse("info,bench/hot=off")
	if err != nil {
		b.Fatal(err)
	}
	return strataTracer(b, "bench/hot", subscriber.WithFilter(discardLayer{}, f))
}

func otelSDK(b *testing.B, opts ...sdktrace.TracerProviderOption) trace.Tracer {
	b.Helper()
	tp := sdktrace.NewTracerProvider(opts...)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("bench")
}

func otelNever(b *testing.B) trace.Tracer {
	return otelSDK(b, sdktrace.WithSampler(sdktrace.NeverSample()))
}

func otelBatch(b *testing.B) trace.Tracer {
	return otelSDK(b, sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
}

func otelSimple(b *testing.B) trace.Tracer {
	return otelSDK(b, sdktrace.WithSyncer(discardExporter{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
}

func otelNoop() trace.Tracer { return noop.NewTracerProvider().Tracer("bench") }

func slogWarn() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func zerologWarn() zerolog.Logger { return zerolog.New(io.Discard).Level(zerolog.WarnLevel) }

func zapWarn() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.WarnLevel))
}

// 1. Disabled by level.

func BenchmarkDisabledByLevelSpan(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		strataStartEnd(b, ctx, warnTracer(b))
	})
	b.Run("otel_neversample", func(b *testing.B) {
		otelStartEnd(b, ctx, otelNever(b))
	})
	b.Run("otel_noop", func(b *testing.B) {
		otelStartEnd(b, ctx, otelNoop())
	})
}

func BenchmarkDisabledByLevelSpan2Fields(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		tr := warnTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op", slog.String("user", "alice"), slog.Int("attempt", 3))
			sp.End()
			sinkCtx, sinkSpan = c, sp
		}
	})
	b.Run("otel_neversample", func(b *testing.B) {
		tr := otelNever(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op", trace.WithAttributes(attribute.String("user", "alice"), attribute.Int("attempt", 3)))
			sp.End()
			sinkCtx, sinkOtel = c, sp
		}
	})
	b.Run("otel_noop", func(b *testing.B) {
		tr := otelNoop()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op", trace.WithAttributes(attribute.String("user", "alice"), attribute.Int("attempt", 3)))
			sp.End()
			sinkCtx, sinkOtel = c, sp
		}
	})
}

func BenchmarkDisabledByLevelEvent(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		tr := warnTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tr.Info(ctx, "cache miss")
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slogWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.InfoContext(ctx, "cache miss")
		}
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Info().Msg("cache miss")
		}
	})
	b.Run("zap", func(b *testing.B) {
		l := zapWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Info("cache miss")
		}
	})
}

func BenchmarkDisabledByLevelEvent2Fields(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		tr := warnTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tr.Info(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
		}
	})
	b.Run("slog", func(b *testing.B) {
		l := slogWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.InfoContext(ctx, "cache miss", "user", "alice", "attempt", 3)
		}
	})
	b.Run("slog_logattrs", func(b *testing.B) {
		l := slogWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.LogAttrs(ctx, slog.LevelInfo, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
		}
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Info().Str("user", "alice").Int("attempt", 3).Msg("cache miss")
		}
	})
	b.Run("zap", func(b *testing.B) {
		l := zapWarn()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Info("cache miss", zap.String("user", "alice"), zap.Int("attempt", 3))
		}
	})
}

// 2. Disabled by a target directive. No peer has per-target directives on its hot path,
// so strata is alone here; compare it with BenchmarkDisabledByLevelSpan.

func BenchmarkDisabledByTargetSpan(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		strataStartEnd(b, ctx, hotTracer(b))
	})
	b.Run("strata_2fields", func(b *testing.B) {
		tr := hotTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op", slog.String("user", "alice"), slog.Int("attempt", 3))
			sp.End()
			sinkCtx, sinkSpan = c, sp
		}
	})
}

func BenchmarkDisabledByTargetEvent(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		tr := hotTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tr.Info(ctx, "cache miss")
		}
	})
	b.Run("strata_2fields", func(b *testing.B) {
		tr := hotTracer(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tr.Info(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
		}
	})
}

// 3. Span start+end through the registry only: one layer that does nothing, against the
// OpenTelemetry SDK recording every span into a processor whose exporter discards.

func BenchmarkSpanStartEnd(b *testing.B) {
	ctx := context.Background()
	b.Run("strata", func(b *testing.B) {
		strataStartEnd(b, ctx, strataTracer(b, "bench", discardLayer{}))
	})
	b.Run("otel_sdk_batch", func(b *testing.B) {
		otelStartEnd(b, ctx, otelBatch(b))
	})
	b.Run("otel_sdk_simple", func(b *testing.B) {
		otelStartEnd(b, ctx, otelSimple(b))
	})
	b.Run("otel_noop", func(b *testing.B) {
		otelStartEnd(b, ctx, otelNoop())
	})
}

// BenchmarkSpanStartEndChild is the same with an open parent in ctx: no new trace id, a
// parent reference to take and give back.
func BenchmarkSpanStartEndChild(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr := strataTracer(b, "bench", discardLayer{})
		ctx, parent := tr.Start(context.Background(), "parent")
		defer parent.End()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op")
			sp.End()
			sinkCtx, sinkSpan = c, sp
		}
	})
	b.Run("otel_sdk_batch", func(b *testing.B) {
		tr := otelBatch(b)
		ctx, parent := tr.Start(context.Background(), "parent")
		defer parent.End()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, sp := tr.Start(ctx, "op")
			sp.End()
			sinkCtx, sinkOtel = c, sp
		}
	})
}

// 4. An enabled event with 5 fields to a layer that does nothing, against slog's front
// end with a do-nothing handler and with its TextHandler writing to io.Discard.

func event5(ctx context.Context, tr *subscriber.Tracer) {
	tr.Info(ctx, "cache miss",
		slog.String("user", "alice"), slog.Int("attempt", 3), slog.Bool("cached", false),
		slog.Duration("elapsed", 1500*time.Microsecond), slog.String("route", "/songs"))
}

func slogEvent5(ctx context.Context, l *slog.Logger) {
	l.LogAttrs(ctx, slog.LevelInfo, "cache miss",
		slog.String("user", "alice"), slog.Int("attempt", 3), slog.Bool("cached", false),
		slog.Duration("elapsed", 1500*time.Microsecond), slog.String("route", "/songs"))
}

func BenchmarkEvent5Fields(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr := strataTracer(b, "bench", discardLayer{})
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			event5(ctx, tr)
		}
	})
	b.Run("strata_in_span", func(b *testing.B) {
		tr := strataTracer(b, "bench", discardLayer{})
		ctx, sp := tr.Start(context.Background(), "parent")
		defer sp.End()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			event5(ctx, tr)
		}
	})
	b.Run("slog_nophandler", func(b *testing.B) {
		l := slog.New(nopHandler{})
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			slogEvent5(ctx, l)
		}
	})
	b.Run("slog_text_discard", func(b *testing.B) {
		l := slog.New(slog.NewTextHandler(io.Discard, nil))
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			slogEvent5(ctx, l)
		}
	})
	b.Run("zerolog_discard", func(b *testing.B) {
		l := zerolog.New(io.Discard).With().Timestamp().Logger()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			l.Info().Str("user", "alice").Int("attempt", 3).Bool("cached", false).
				Dur("elapsed", 1500*time.Microsecond).Str("route", "/songs").Msg("cache miss")
		}
	})
}

// 5. Parallel variants of 1 and 3, on all cores (GOMAXPROCS goroutines).

func BenchmarkDisabledByLevelSpanParallel(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr := warnTracer(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.Start(ctx, "op", slog.String("user", "alice"), slog.Int("attempt", 3))
				sp.End()
			}
		})
	})
	b.Run("otel_neversample", func(b *testing.B) {
		tr := otelNever(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.Start(ctx, "op", trace.WithAttributes(attribute.String("user", "alice"), attribute.Int("attempt", 3)))
				sp.End()
			}
		})
	})
}

func BenchmarkDisabledByLevelEventParallel(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr := warnTracer(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				tr.Info(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
			}
		})
	})
	b.Run("slog_logattrs", func(b *testing.B) {
		l := slogWarn()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				l.LogAttrs(ctx, slog.LevelInfo, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
			}
		})
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologWarn()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Info().Str("user", "alice").Int("attempt", 3).Msg("cache miss")
			}
		})
	})
}

func BenchmarkSpanStartEndParallel(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr := strataTracer(b, "bench", discardLayer{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.Start(ctx, "op")
				sp.End()
			}
		})
	})
	b.Run("otel_sdk_batch", func(b *testing.B) {
		tr := otelBatch(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.Start(ctx, "op")
				sp.End()
			}
		})
	})
	b.Run("otel_noop", func(b *testing.B) {
		tr := otelNoop()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.Start(ctx, "op")
				sp.End()
			}
		})
	})
}

// strataStartEnd measures starting and ending a span named "op" with no fields.
func strataStartEnd(b *testing.B, ctx context.Context, tr *subscriber.Tracer) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, sp := tr.Start(ctx, "op")
		sp.End()
		sinkCtx, sinkSpan = c, sp
	}
}

// otelStartEnd is strataStartEnd for an OpenTelemetry tracer.
func otelStartEnd(b *testing.B, ctx context.Context, tr trace.Tracer) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, sp := tr.Start(ctx, "op")
		sp.End()
		sinkCtx, sinkOtel = c, sp
	}
}
