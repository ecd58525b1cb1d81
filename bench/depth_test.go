package bench

// A child span started and ended at depth 1, 8, 32 and 128: under depth-1 open
// ancestors, each with 5 fields, the span itself with 5 fields. With storage + logfmt
// (to io.Discard) Strata writes the span's new_span and close_span lines, each carrying
// its fields and every ancestor's: with unique keys (l0.user, l1.user, ...) that is
// 5×depth fields per line; with repeated keys (every level has user, attempt, route,
// cached, bytes) the nearest value hides the others and a line has 5 fields whatever
// the depth.
//
// Peers, per op:
//
//   - zerolog: writes the same two lines (zerolines_test.go; checked by
//     TestDepthZerologWritesTheSameLines). Unique keys: the span's logger is its
//     parent's (whose context holds every ancestor's fields, encoded once when the
//     ancestors started) plus its own 5 fields, as zerolog users chain With(). Repeated
//     keys: the trace's logger plus the span's own 5 fields, since those hide every
//     ancestor's: zerolog chaining With() would write each key depth times instead.
//   - otel_sdk_batch: the OpenTelemetry SDK starts and ends a child span with the same 5
//     attributes under the same chain (batch processor, exporter that discards). It
//     writes no lines and does not inherit attributes, so its cost does not grow with
//     depth.
//
// DESIGN.md: strata ≤ 1.5x zerolog at every depth; with repeated keys, depth 128 within
// 1.5x of depth 1.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

var depths = []int{1, 8, 32, 128}

// depthAttrs are the 5 fields of the span at level (0 for the root).
func depthAttrs(level int, repeated bool) []slog.Attr {
	p := fmt.Sprintf("l%d.", level)
	if repeated {
		p = ""
	}
	return []slog.Attr{
		slog.String(p+"user", "alice"),
		slog.Int(p+"attempt", level),
		slog.String(p+"route", "/songs"),
		slog.Bool(p+"cached", level%2 == 0),
		slog.Int(p+"bytes", 1000+level),
	}
}

func otelAttrs(attrs []slog.Attr) []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, len(attrs))
	for i, a := range attrs {
		switch a.Value.Kind() {
		case slog.KindInt64:
			kvs[i] = attribute.Int64(a.Key, a.Value.Int64())
		case slog.KindBool:
			kvs[i] = attribute.Bool(a.Key, a.Value.Bool())
		default:
			kvs[i] = attribute.String(a.Key, a.Value.String())
		}
	}
	return kvs
}

// strataDepth opens depth-1 ancestors with storage + logfmt writing to w and returns
// the tracer, the ctx the measured span starts from, and a function that ends them.
func strataDepth(tb testing.TB, w io.Writer, depth int, repeated bool) (*subscriber.Tracer, context.Context, func()) {
	d := subscriber.MustNew(storage.New(), logfmt.New(w))
	tb.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	tr := d.Tracer("songs/depth")
	ctx := context.Background()
	var spans []subscriber.Span
	for level := range depth - 1 {
		var s subscriber.Span
		ctx, s = tr.Start(ctx, "level", depthAttrs(level, repeated)...)
		spans = append(spans, s)
	}
	return tr, ctx, func() {
		for i := len(spans) - 1; i >= 0; i-- {
			spans[i].End()
		}
	}
}

func strataLeaf(ctx context.Context, tr *subscriber.Tracer, attrs []slog.Attr) {
	_, s := tr.Start(ctx, "leaf", attrs...)
	s.End()
}

// zlDepth is the zerolog peer's chain of open ancestors.
type zlDepth struct {
	base     zerolog.Logger
	trace    zerolog.Logger // the trace's logger: trace_id only
	parent   *zlSpan        // nil at depth 1
	spans    []*zlSpan
	repeated bool
}

func zerologDepth(w io.Writer, depth int, repeated bool) *zlDepth {
	z := &zlDepth{base: zlBase(w), repeated: repeated}
	z.trace = zlTrace(z.base).Logger()
	for level := range depth - 1 {
		var c zerolog.Context
		switch {
		case z.parent == nil || repeated:
			c = z.trace.With()
		default:
			c = z.parent.l.With()
		}
		s := zlStart(zlFields(c, depthAttrs(level, repeated)), z.parent, "level")
		z.parent = &s
		z.spans = append(z.spans, &s)
	}
	return z
}

func (z *zlDepth) leaf(attrs []slog.Attr) {
	var c zerolog.Context
	switch {
	case z.parent == nil:
		c = zlTrace(z.base) // the span is a root: a new trace, as Strata's
	case z.repeated:
		c = z.trace.With()
	default:
		c = z.parent.l.With()
	}
	s := zlStart(zlFields(c, attrs), z.parent, "leaf")
	s.end()
}

func (z *zlDepth) end() {
	for i := len(z.spans) - 1; i >= 0; i-- {
		z.spans[i].end()
	}
}

func benchDepth(b *testing.B, repeated bool) {
	for _, depth := range depths {
		leafAttrs := depthAttrs(depth-1, repeated)
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			b.Run("strata", func(b *testing.B) {
				tr, ctx, end := strataDepth(b, io.Discard, depth, repeated)
				defer end()
				strataLeaf(ctx, tr, leafAttrs)
				cpu := startCPU(b)
				for range b.N {
					strataLeaf(ctx, tr, leafAttrs)
				}
				cpu.stop()
			})
			b.Run("zerolog", func(b *testing.B) {
				zerologAsStrata(b)
				z := zerologDepth(io.Discard, depth, repeated)
				defer z.end()
				cpu := startCPU(b)
				for range b.N {
					z.leaf(leafAttrs)
				}
				cpu.stop()
			})
			b.Run("otel_sdk_batch", func(b *testing.B) {
				tp := otelBatchProvider(b)
				tr := tp.Tracer("songs/depth")
				ctx := context.Background()
				var spans []trace.Span
				for level := range depth - 1 {
					var s trace.Span
					ctx, s = tr.Start(ctx, "level", trace.WithAttributes(otelAttrs(depthAttrs(level, repeated))...))
					spans = append(spans, s)
				}
				defer func() {
					for i := len(spans) - 1; i >= 0; i-- {
						spans[i].End()
					}
				}()
				kvs := otelAttrs(leafAttrs)
				cpu := startCPU(b)
				for range b.N {
					_, s := tr.Start(ctx, "leaf", trace.WithAttributes(kvs...))
					s.End()
				}
				cpu.stop(func() { _ = tp.ForceFlush(context.Background()) })
			})
		})
	}
}

// BenchmarkDepthUniqueKeys: every level's 5 keys are its own (l<level>.<key>).
func BenchmarkDepthUniqueKeys(b *testing.B) { benchDepth(b, false) }

// BenchmarkDepthRepeatedKeys: every level has the same 5 keys.
func BenchmarkDepthRepeatedKeys(b *testing.B) { benchDepth(b, true) }
