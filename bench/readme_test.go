package bench

// The README's composition, as users copy it: storage, then logfmt behind the
// directives STRATA_LOG=info gives, then metrics, with locations on (the logfmt default)
// and either the AsyncWriter the README shows or a plain (sync) writer:
//
//	directives, _ := filter.Parse("info") // what filter.FromEnv gives with STRATA_LOG=info
//	out := logfmt.NewAsyncWriter(w)        // or w itself for the sync variant
//	met := metrics.New()
//	d, _ := subscriber.New(storage.New(), subscriber.WithFilter(logfmt.New(out), directives), met)
//
// This file builds it for the other benchmarks, and measures what it costs to reject a
// DEBUG span or event with it (DESIGN.md: 0 allocs, within 2x of the case where every
// layer is filtered at info), next to the peers' "off" paths: the OpenTelemetry no-op
// tracer for spans, and slog, zerolog and zap at INFO for DEBUG events.

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// readmeTarget is the target of the README stack's tracer.
const readmeTarget = "songs/http"

// readmeStack is the README composition with its handles.
type readmeStack struct {
	d     *subscriber.Dispatch
	tr    *subscriber.Tracer
	met   *metrics.Layer
	async *logfmt.AsyncWriter // nil for the sync variant
}

// newReadme builds the README composition writing to w: through an AsyncWriter when
// async is set, to w directly otherwise. The dispatch is shut down (the AsyncWriter
// closed) when tb ends.
func newReadme(tb testing.TB, w io.Writer, async bool) *readmeStack {
	tb.Helper()
	directives, err := filter.Parse("info") // what filter.FromEnv gives with STRATA_LOG=info
	if err != nil {
		tb.Fatal(err)
	}
	s := &readmeStack{met: metrics.New()}
	out := w
	if async {
		s.async = logfmt.NewAsyncWriter(w)
		out = s.async
	}
	s.d, err = subscriber.New(storage.New(), subscriber.WithFilter(logfmt.New(out), directives), s.met)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.d.Shutdown(context.Background()) })
	s.tr = s.d.Tracer(readmeTarget)
	s.tr.Enabled(subscriber.LevelInfo) // fill the tracer's per-target cache
	return s
}

// newAllFiltered is the same three layers with every one of them filtered at info: the
// reference the README composition's rejection of DEBUG is judged against.
func newAllFiltered(tb testing.TB) *subscriber.Tracer {
	tb.Helper()
	info := func() subscriber.Filter {
		f, err := filter.Parse("info")
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
	out := logfmt.NewAsyncWriter(io.Discard)
	d, err := subscriber.New(
		subscriber.WithFilter(storage.New(), info()),
		subscriber.WithFilter(logfmt.New(out), info()),
		subscriber.WithFilter(metrics.New(), info()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	tr := d.Tracer(readmeTarget)
	tr.Enabled(subscriber.LevelInfo)
	return tr
}

// Peers at INFO, so that DEBUG is off.

func slogInfo() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func zerologInfo() zerolog.Logger { return zerolog.New(io.Discard).Level(zerolog.InfoLevel) }

func zapInfo() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
}

// readmeDebugSpan and friends run one rejected call per iteration.

func readmeDebugSpan(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, sp := tr.StartLevel(ctx, subscriber.LevelDebug, "op")
		sp.End()
		sinkCtx, sinkSpan = c, sp
	}
}

func readmeDebugSpan2(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, sp := tr.StartLevel(ctx, subscriber.LevelDebug, "op", slog.String("user", "alice"), slog.Int("attempt", 3))
		sp.End()
		sinkCtx, sinkSpan = c, sp
	}
}

func readmeDebugEvent(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tr.Debug(ctx, "cache miss")
	}
}

func readmeDebugEvent2(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tr.Debug(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
	}
}

// BenchmarkReadmeDisabledSpan: a DEBUG span (no fields) started and ended with the
// README composition at info. strata_all_filtered is the same layers each filtered at
// info; otel_noop is the OpenTelemetry no-op tracer, what an OpenTelemetry user has
// when tracing is off.
func BenchmarkReadmeDisabledSpan(b *testing.B) {
	b.Run("strata", func(b *testing.B) { readmeDebugSpan(b, newReadme(b, io.Discard, true).tr) })
	b.Run("strata_all_filtered", func(b *testing.B) { readmeDebugSpan(b, newAllFiltered(b)) })
	b.Run("otel_noop", func(b *testing.B) { otelStartEnd(b, context.Background(), otelNoop()) })
}

// BenchmarkReadmeDisabledSpan2Fields is the same with 2 fields.
func BenchmarkReadmeDisabledSpan2Fields(b *testing.B) {
	b.Run("strata", func(b *testing.B) { readmeDebugSpan2(b, newReadme(b, io.Discard, true).tr) })
	b.Run("strata_all_filtered", func(b *testing.B) { readmeDebugSpan2(b, newAllFiltered(b)) })
	b.Run("otel_noop", func(b *testing.B) {
		tr := otelNoop()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c, sp := tr.Start(ctx, "op", trace.WithAttributes(attribute.String("user", "alice"), attribute.Int("attempt", 3)))
			sp.End()
			sinkCtx, sinkOtel = c, sp
		}
	})
}

// BenchmarkReadmeDisabledEvent: a DEBUG event without fields, README composition at
// info, against slog, zerolog and zap set at INFO.
func BenchmarkReadmeDisabledEvent(b *testing.B) {
	b.Run("strata", func(b *testing.B) { readmeDebugEvent(b, newReadme(b, io.Discard, true).tr) })
	b.Run("strata_all_filtered", func(b *testing.B) { readmeDebugEvent(b, newAllFiltered(b)) })
	b.Run("slog", func(b *testing.B) {
		l := slogInfo()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			l.DebugContext(ctx, "cache miss")
		}
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologInfo()
		b.ReportAllocs()
		for b.Loop() {
			l.Debug().Msg("cache miss")
		}
	})
	b.Run("zap", func(b *testing.B) {
		l := zapInfo()
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("cache miss")
		}
	})
}

// BenchmarkReadmeDisabledEvent2Fields: the same with 2 fields. DESIGN.md: no slower than
// slog's disabled call with the same fields.
func BenchmarkReadmeDisabledEvent2Fields(b *testing.B) {
	b.Run("strata", func(b *testing.B) { readmeDebugEvent2(b, newReadme(b, io.Discard, true).tr) })
	b.Run("strata_all_filtered", func(b *testing.B) { readmeDebugEvent2(b, newAllFiltered(b)) })
	b.Run("slog", func(b *testing.B) {
		l := slogInfo()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			l.DebugContext(ctx, "cache miss", "user", "alice", "attempt", 3)
		}
	})
	b.Run("slog_logattrs", func(b *testing.B) {
		l := slogInfo()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelDebug, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
		}
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologInfo()
		b.ReportAllocs()
		for b.Loop() {
			l.Debug().Str("user", "alice").Int("attempt", 3).Msg("cache miss")
		}
	})
	b.Run("zap", func(b *testing.B) {
		l := zapInfo()
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("cache miss", zap.String("user", "alice"), zap.Int("attempt", 3))
		}
	})
}

// BenchmarkReadmeDisabledParallel: the DEBUG span and the DEBUG event with 2 fields from
// all goroutines at once (run.sh runs the Parallel benchmarks with -cpu 1 and with all
// cores).
func BenchmarkReadmeDisabledParallel(b *testing.B) {
	b.Run("span/strata", func(b *testing.B) {
		tr := newReadme(b, io.Discard, true).tr
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				_, sp := tr.StartLevel(ctx, subscriber.LevelDebug, "op")
				sp.End()
			}
		})
	})
	b.Run("span/otel_noop", func(b *testing.B) {
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
	b.Run("event2/strata", func(b *testing.B) {
		tr := newReadme(b, io.Discard, true).tr
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				tr.Debug(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
			}
		})
	})
	b.Run("event2/slog_logattrs", func(b *testing.B) {
		l := slogInfo()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				l.LogAttrs(ctx, slog.LevelDebug, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
			}
		})
	})
}
