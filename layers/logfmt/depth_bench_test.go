package logfmt_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// depthAttrs returns the 5 fields of the span at level i of a chain: keys unique to the
// level, or the same 5 keys at every level.
func depthAttrs(i int, repeated bool) []slog.Attr {
	attrs := make([]slog.Attr, 5)
	for j := range attrs {
		k := fmt.Sprintf("l%d.f%d", i, j)
		if repeated {
			k = fmt.Sprintf("f%d", j)
		}
		attrs[j] = slog.String(k, fmt.Sprintf("value-%d-%d", i, j))
	}
	return attrs
}

// startChain starts depth spans under the span in ctx, each the child of the one
// before, and returns the ctx of the deepest and a function that ends them all.
func startChain(ctx context.Context, tr *subscriber.Tracer, depth int, repeated bool) (context.Context, func()) {
	spans := make([]subscriber.Span, 0, depth)
	for i := range depth {
		var s subscriber.Span
		ctx, s = tr.Start(ctx, "ancestor", depthAttrs(i, repeated)...)
		spans = append(spans, s)
	}
	return ctx, func() {
		for i := len(spans) - 1; i >= 0; i-- {
			spans[i].End()
		}
	}
}

// BenchmarkDepth starts and ends a span with 5 fields under depth ancestors with 5
// fields each, through storage and logfmt writing to io.Discard: a new_span and a
// close_span line carrying every visible field. With unique keys the lines grow with
// depth; with the same keys at every level they hold 5 fields at any depth, and the cost
// must stay flat.
func BenchmarkDepth(b *testing.B) {
	for _, keys := range []string{"unique", "repeated"} {
		for _, depth := range []int{1, 8, 32, 128} {
			b.Run(fmt.Sprintf("keys=%s/depth=%d", keys, depth), func(b *testing.B) {
				d := subscriber.MustNew(storage.New(), logfmt.New(io.Discard, logfmt.WithoutLocation()))
				tr := d.Tracer("bench")
				repeated := keys == "repeated"
				ctx, end := startChain(context.Background(), tr, depth, repeated)
				defer end()
				own := depthAttrs(depth, repeated)
				b.ReportAllocs()
				for b.Loop() {
					_, s := tr.Start(ctx, "child", own...)
					s.End()
				}
			})
		}
	}
}

// BenchmarkDepthRecordOnRoot records a field on the root of a chain while its
// descendants are open, then logs an event in the deepest span: the encodings of every
// level are redone once, each linking to its parent's.
func BenchmarkDepthRecordOnRoot(b *testing.B) {
	for _, keys := range []string{"unique", "repeated"} {
		for _, depth := range []int{8, 32, 128} {
			b.Run(fmt.Sprintf("keys=%s/depth=%d", keys, depth), func(b *testing.B) {
				d := subscriber.MustNew(storage.New(), logfmt.New(io.Discard, logfmt.WithoutLocation()))
				tr := d.Tracer("bench")
				rootCtx, root := tr.Start(context.Background(), "root", slog.Int("n", 0))
				ctx, end := startChain(rootCtx, tr, depth, keys == "repeated")
				defer root.End()
				defer end()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					root.Record(slog.Int("n", i))
					tr.Info(ctx, "event", slog.Int("i", i))
				}
			})
		}
	}
}
