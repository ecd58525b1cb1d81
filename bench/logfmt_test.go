package bench

// logfmt and storage benchmarks: an event with 5 fields in a span that inherits 5
// fields, written to io.Discard by Strata's logfmt layer and by the peers, each given
// the same 5 fields as pre-bound context (zerolog With(), zap With(), slog With());
// opening and closing a span with its two logfmt lines; and starting a span under
// ancestors of growing depth with the storage layer (inheritance must not copy).
// DESIGN.md's budget: the event costs at most 1.5x zerolog and less than slog's
// TextHandler.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

const lfMsg = "finished processing vendor request"

// lfSpanFields are the 5 fields of the request span, inherited by the event's span.
func lfSpanFields() []slog.Attr {
	return []slog.Attr{
		slog.String("http.method", "POST"),
		slog.String("http.route", "/songs"),
		slog.Int("user_id", 4242),
		slog.String("subject", "vendor.lastfm"),
		slog.Int("attempt", 1),
	}
}

// strataEventCtx returns a tracer over storage and logfmt, and a ctx inside a span
// whose 5 fields are inherited from its parent. The spans end when the benchmark does.
func strataEventCtx(tb testing.TB, w io.Writer, opts ...logfmt.Option) (*subscriber.Tracer, context.Context) {
	d := subscriber.MustNew(storage.New(), logfmt.New(w, opts...))
	tr := d.Tracer("songs/vendor")
	ctx, parent := tr.Start(context.Background(), "HTTP request", lfSpanFields()...)
	ctx, child := tr.Start(ctx, "vendor.lastfm.task")
	tb.Cleanup(func() { child.End(); parent.End() })
	return tr, ctx
}

// strataEvent logs the benchmark's event: 5 fields of its own.
func strataEvent(tr *subscriber.Tracer, ctx context.Context) {
	tr.Info(ctx, lfMsg,
		slog.Int("vendor.status", 200), slog.String("vendor", "lastfm"), slog.String("cache", "miss"),
		slog.Int("bytes", 1234), slog.Int("elapsed_ms", 18))
}

// zerologEventLogger is zerolog with the span's 5 fields as context and a timestamp.
func zerologEventLogger(w io.Writer) zerolog.Logger {
	return zerolog.New(w).With().Timestamp().
		Str("http.method", "POST").Str("http.route", "/songs").Int("user_id", 4242).
		Str("subject", "vendor.lastfm").Int("attempt", 1).Logger()
}

// zerologEvent logs the same event as strataEvent.
func zerologEvent(l *zerolog.Logger) {
	l.Info().Int("vendor.status", 200).Str("vendor", "lastfm").Str("cache", "miss").
		Int("bytes", 1234).Int("elapsed_ms", 18).Msg(lfMsg)
}

func BenchmarkLogfmtEvent(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		tr, ctx := strataEventCtx(b, io.Discard, logfmt.WithoutLocation())
		b.ReportAllocs()
		for b.Loop() {
			strataEvent(tr, ctx)
		}
	})
	// The default layer prints location=file:line, which makes the core capture the
	// caller: zap with AddCaller is the peer for this one.
	b.Run("strata_location", func(b *testing.B) {
		tr, ctx := strataEventCtx(b, io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			strataEvent(tr, ctx)
		}
	})
	// The README composition as shipped (storage, logfmt behind the info directives,
	// metrics; locations on; the sync writer).
	b.Run("strata_readme", func(b *testing.B) {
		tr := newReadme(b, io.Discard, false).tr
		ctx, parent := tr.Start(context.Background(), "HTTP request", lfSpanFields()...)
		ctx, child := tr.Start(ctx, "vendor.lastfm.task")
		b.Cleanup(func() { child.End(); parent.End() })
		b.ReportAllocs()
		for b.Loop() {
			strataEvent(tr, ctx)
		}
	})
	b.Run("zerolog", func(b *testing.B) {
		logger := zerologEventLogger(io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			zerologEvent(&logger)
		}
	})
	// zerolog with the caller (runtime.Caller per event, its default file:line format):
	// the peer of the rows with a location.
	b.Run("zerolog_caller", func(b *testing.B) {
		logger := zerologEventLogger(io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			logger.Info().Int("vendor.status", 200).Str("vendor", "lastfm").Str("cache", "miss").
				Int("bytes", 1234).Int("elapsed_ms", 18).Caller().Msg(lfMsg)
		}
	})
	b.Run("zap", func(b *testing.B) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
		logger := zap.New(core).With(zap.String("http.method", "POST"), zap.String("http.route", "/songs"),
			zap.Int("user_id", 4242), zap.String("subject", "vendor.lastfm"), zap.Int("attempt", 1))
		b.ReportAllocs()
		for b.Loop() {
			logger.Info(lfMsg, zap.Int("vendor.status", 200), zap.String("vendor", "lastfm"), zap.String("cache", "miss"),
				zap.Int("bytes", 1234), zap.Int("elapsed_ms", 18))
		}
	})
	// zap with AddCaller: the peer of the rows with a location.
	b.Run("zap_caller", func(b *testing.B) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
		logger := zap.New(core, zap.AddCaller()).With(zap.String("http.method", "POST"), zap.String("http.route", "/songs"),
			zap.Int("user_id", 4242), zap.String("subject", "vendor.lastfm"), zap.Int("attempt", 1))
		b.ReportAllocs()
		for b.Loop() {
			logger.Info(lfMsg, zap.Int("vendor.status", 200), zap.String("vendor", "lastfm"), zap.String("cache", "miss"),
				zap.Int("bytes", 1234), zap.Int("elapsed_ms", 18))
		}
	})
	slogBench := func(h slog.Handler) func(b *testing.B) {
		return func(b *testing.B) {
			logger := slog.New(h).With(
				slog.String("http.method", "POST"), slog.String("http.route", "/songs"), slog.Int("user_id", 4242),
				slog.String("subject", "vendor.lastfm"), slog.Int("attempt", 1))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				logger.LogAttrs(ctx, slog.LevelInfo, lfMsg,
					slog.Int("vendor.status", 200), slog.String("vendor", "lastfm"), slog.String("cache", "miss"),
					slog.Int("bytes", 1234), slog.Int("elapsed_ms", 18))
			}
		}
	}
	b.Run("slog_text", slogBench(slog.NewTextHandler(io.Discard, nil)))
	b.Run("slog_json", slogBench(slog.NewJSONHandler(io.Discard, nil)))
}

// BenchmarkLogfmtSpanOpenClose starts and ends a span with 2 fields under a request span
// with 5: a new_span and a close_span line, each with 7 stored fields.
func BenchmarkLogfmtSpanOpenClose(b *testing.B) {
	d := subscriber.MustNew(storage.New(), logfmt.New(io.Discard))
	tr := d.Tracer("songs/vendor")
	ctx, parent := tr.Start(context.Background(), "HTTP request", lfSpanFields()...)
	defer parent.End()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "vendor.lastfm.task", slog.String("vendor", "lastfm"), slog.Int("attempt", 2))
		s.End()
	}
}

// BenchmarkStorageInherit starts and ends a span with 2 fields at the given depth (under
// depth-1 ancestors with 3 fields each), through the storage layer and a do-nothing layer
// it serves (storage alone enables nothing: it wants what the layers it serves want).
// Inheritance links to the parent instead of copying, so the cost must not grow with
// depth.
func BenchmarkStorageInherit(b *testing.B) {
	for _, depth := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			d := subscriber.MustNew(storage.New(), discardLayer{})
			tr := d.Tracer("bench")
			ctx := context.Background()
			var spans []subscriber.Span
			for i := range depth - 1 {
				var s subscriber.Span
				ctx, s = tr.Start(ctx, "ancestor",
					slog.Int(fmt.Sprintf("a%d.x", i), i), slog.String(fmt.Sprintf("a%d.y", i), "y"), slog.Bool("shared", true))
				spans = append(spans, s)
			}
			defer func() {
				for i := len(spans) - 1; i >= 0; i-- {
					spans[i].End()
				}
			}()
			b.ReportAllocs()
			for b.Loop() {
				_, s := tr.Start(ctx, "leaf", slog.String("leaf", "1"), slog.Int("n", 2))
				s.End()
			}
		})
	}
}
