package metrics_test

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// nopLayer stands in for the layers a real composition has besides metrics (storage
// serves others and wants no more than they do): it makes the span enabled without the
// metrics layer, so that "without" measures the same dispatch minus the metrics layer.
type nopLayer struct{}

func (nopLayer) OnClose(subscriber.SpanRef) {}

var wholeLayerAttrs = []slog.Attr{
	slog.String("metric_name", "db_event"),
	slog.String("metric_label_db", "postgres"),
	slog.String("metric_label_op", "select"),
}

func wholeLayerLoop(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	_, warm := tr.Start(ctx, "db.query", wholeLayerAttrs...)
	warm.End()
	b.ReportAllocs()
	defer reportThreadCPU(b)()
	for b.Loop() {
		_, span := tr.Start(ctx, "db.query", wholeLayerAttrs...)
		span.End()
	}
}

// reportThreadCPU reports the loop's CPU time per op (cpu-ns/op) beside its wall time:
// the loop runs on one locked thread, allocates nothing the collector must chase, and
// on a loaded machine its CPU time leaves out the time other processes took.
func reportThreadCPU(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return func() {
		end, ok2 := threadCPU()
		runtime.UnlockOSThread()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkWholeLayerPerSpan measures what the metrics layer adds to a span with a
// metric name and two labels (the budget's "whole per-span cost": with minus without),
// beside what an application pays with VictoriaMetrics handles made once: the same
// counter and histogram updates plus the duration measurement.
func BenchmarkWholeLayerPerSpan(b *testing.B) {
	b.Run("with", func(b *testing.B) {
		wholeLayerLoop(b, subscriber.MustNew(storage.New(), nopLayer{}, metrics.New()).Tracer("bench"))
	})
	b.Run("without", func(b *testing.B) {
		wholeLayerLoop(b, subscriber.MustNew(storage.New(), nopLayer{}).Tracer("bench"))
	})
	b.Run("hooks", func(b *testing.B) {
		m := metrics.New()
		tr := subscriber.MustNew(storage.New(), m, &hooksLoop{m: m, b: b}).Tracer("bench")
		_, span := tr.Start(context.Background(), "db.query", wholeLayerAttrs...)
		span.End()
	})
	b.Run("vm-handles", func(b *testing.B) {
		set := vm.NewSet()
		const labels = `{db="postgres",op="select",result="ok",span_name="db.query"}`
		c := set.GetOrCreateCounter("db_event_total" + labels)
		h := set.GetOrCreatePrometheusHistogramExt("db_event_duration_seconds"+labels, metrics.DefaultBuckets)
		b.ReportAllocs()
		defer reportThreadCPU(b)()
		for b.Loop() {
			start := time.Now()
			c.Inc()
			h.Update(time.Since(start).Seconds())
		}
	})
}

// hooksLoop runs the metrics layer's span hooks b.N times from its own OnClose, on the
// closing span: the layer's own work per span, without the dispatch around it.
type hooksLoop struct {
	m *metrics.Layer
	b *testing.B
}

func (h *hooksLoop) OnClose(span subscriber.SpanRef) {
	h.b.ReportAllocs()
	defer reportThreadCPU(h.b)()
	h.b.ResetTimer()
	for range h.b.N {
		h.m.OnNewSpan(span, wholeLayerAttrs)
		h.m.OnClose(span)
	}
	h.b.StopTimer()
}
