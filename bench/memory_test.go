package bench

// Memory retained per open span: 10,000 children of one root, each with 4 fields, kept
// open (their ctx and span handle held, as a request in flight holds them), measured as
// the live heap after a GC minus the live heap before (B/span), the allocations made
// while opening (objs/span, from runtime.MemStats.Mallocs) and the objects still live
// (live-objs/span, from HeapObjects); then the spans are ended.
//
//   - strata: the README composition (readme_test.go) with the sync writer to io.Discard:
//     storage keeps each span's fields, logfmt writes its new_span line, the metrics
//     layer sees it.
//   - otel_sdk_batch: the OpenTelemetry SDK, AlwaysSample, batch processor with an
//     exporter that discards: each span is a recording span with its 4 attributes.
//
// DESIGN.md: strata's B/span ≤ the SDK's. TestOpenSpanMemory logs the same figures in
// an ordinary test run.

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-go/strata/subscriber"
)

const openSpans = 10_000

// memFigures are per-span averages.
type memFigures struct {
	bytes, objs, liveObjs float64
}

// measureOpen runs open(i) for i in [0, n) between two garbage collections and returns
// what it retained and allocated per span; then it runs end.
func measureOpen(n int, open func(i int), end func()) memFigures {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC() // the second empties sync.Pools (their victim caches) too
	runtime.ReadMemStats(&before)
	for i := range n {
		open(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	end()
	return memFigures{
		bytes:    (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n),
		objs:     float64(after.Mallocs-before.Mallocs) / float64(n),
		liveObjs: (float64(after.HeapObjects) - float64(before.HeapObjects)) / float64(n),
	}
}

// openStrata returns a function that measures open spans with the README composition
// (built once).
func openStrata(tb testing.TB) func() memFigures {
	tr := newReadme(tb, io.Discard, false).tr
	ctxs := make([]context.Context, openSpans)
	spans := make([]subscriber.Span, openSpans)
	return func() memFigures {
		rootCtx, root := tr.Start(context.Background(), "HTTP request",
			slog.String("http.method", "GET"), slog.String("http.route", "/songs"),
			slog.String("user", "alice"), slog.Int("attempt", 1))
		defer root.End()
		return measureOpen(openSpans, func(i int) {
			ctxs[i], spans[i] = tr.Start(rootCtx, "db.query",
				slog.String("db.system", "postgresql"), slog.String("db.operation", "select"),
				slog.Int("song.id", i), slog.Bool("cached", false))
		}, func() {
			for i := range spans {
				spans[i].End()
			}
			clear(ctxs) // nothing of this round may stay reachable into the next one
			clear(spans)
		})
	}
}

// openOtel returns a function that measures open spans with the OpenTelemetry SDK.
func openOtel(tb testing.TB) func() memFigures {
	tr := otelBatchProvider(tb).Tracer(readmeTarget)
	ctxs := make([]context.Context, openSpans)
	spans := make([]trace.Span, openSpans)
	return func() memFigures {
		rootCtx, root := tr.Start(context.Background(), "HTTP request", trace.WithAttributes(
			attribute.String("http.method", "GET"), attribute.String("http.route", "/songs"),
			attribute.String("user", "alice"), attribute.Int("attempt", 1)))
		defer root.End()
		return measureOpen(openSpans, func(i int) {
			ctxs[i], spans[i] = tr.Start(rootCtx, "db.query", trace.WithAttributes(
				attribute.String("db.system", "postgresql"), attribute.String("db.operation", "select"),
				attribute.Int("song.id", i), attribute.Bool("cached", false)))
		}, func() {
			for i := range spans {
				spans[i].End()
			}
			clear(ctxs) // nothing of this round may stay reachable into the next one
			clear(spans)
		})
	}
}

// BenchmarkOpenSpanMemory reports B/span, objs/span and live-objs/span, averaged over
// b.N rounds of 10,000 spans. ns/op is one whole round (opening and ending 10,000
// spans, and three garbage collections): not a figure to compare.
func BenchmarkOpenSpanMemory(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(testing.TB) func() memFigures
	}{{"strata", openStrata}, {"otel_sdk_batch", openOtel}} {
		b.Run(c.name, func(b *testing.B) {
			measure := c.open(b)
			var sum memFigures
			for range b.N {
				f := measure()
				sum.bytes += f.bytes
				sum.objs += f.objs
				sum.liveObjs += f.liveObjs
			}
			n := float64(b.N)
			b.ReportMetric(sum.bytes/n, "B/span")
			b.ReportMetric(sum.objs/n, "objs/span")
			b.ReportMetric(sum.liveObjs/n, "live-objs/span")
		})
	}
}

// TestOpenSpanMemory logs the per-span figures of both sides (with the race detector on,
// both are inflated).
func TestOpenSpanMemory(t *testing.T) {
	s, o := openStrata(t)(), openOtel(t)()
	t.Logf("%d open spans, 4 fields each, per span:", openSpans)
	t.Logf("  strata (README composition): %6.0f B retained, %5.2f allocations, %5.2f live objects", s.bytes, s.objs, s.liveObjs)
	t.Logf("  OpenTelemetry SDK (batch):   %6.0f B retained, %5.2f allocations, %5.2f live objects", o.bytes, o.objs, o.liveObjs)
	if s.bytes <= 0 || o.bytes <= 0 {
		t.Errorf("a side retains nothing per open span: the measurement is broken (strata %.0f B, SDK %.0f B)", s.bytes, o.bytes)
	}
}
