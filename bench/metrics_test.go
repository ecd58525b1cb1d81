package bench

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The derived-metrics benchmarks: a span with metric_name and two metric_label_* fields,
// closed in steady state (its label set seen before), against what an application does
// without Strata: either format the series name and look the metrics up in
// VictoriaMetrics on every call (victoriametrics_direct), or, the idiomatic way, make
// the handles once and update them (victoriametrics_handles). BenchmarkMetricsWholePerSpan
// measures the layer's whole per-span cost (DESIGN.md: ≤ 1.5x the handles made once).

var metricAttrs = []slog.Attr{
	slog.String("metric_name", "db_event"),
	slog.String("metric_label_db", "postgres"),
	slog.String("metric_label_op", "select"),
}

// nopClose is a layer that does nothing at close: the dispatch without metrics.
type nopClose struct{}

func (nopClose) OnClose(subscriber.SpanRef) {}

// closeLoop calls the metrics layer's OnClose b.N times from its own OnClose, on the
// span that is closing (warm: the metrics layer has just seen it): the derivation alone,
// without the span's start and end.
type closeLoop struct {
	m *metrics.Layer
	b *testing.B
}

func (c *closeLoop) OnClose(span subscriber.SpanRef) {
	c.b.ReportAllocs()
	c.b.ResetTimer()
	for range c.b.N {
		c.m.OnClose(span)
	}
	c.b.StopTimer()
}

func startEnd(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	_, span := tr.Start(ctx, "db.query", metricAttrs...)
	span.End()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, span := tr.Start(ctx, "db.query", metricAttrs...)
		span.End()
	}
}

func startEndParallel(b *testing.B, tr *subscriber.Tracer) {
	ctx := context.Background()
	_, span := tr.Start(ctx, "db.query", metricAttrs...)
	span.End()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, span := tr.Start(ctx, "db.query", metricAttrs...)
			span.End()
		}
	})
}

// vmSeries are VictoriaMetrics handles made once, for the series Strata derives for
// metricAttrs: what an application keeps in package-level variables.
type vmSeries struct {
	total *vm.Counter
	hist  *vm.PrometheusHistogram
}

func newVMSeries(set *vm.Set) vmSeries {
	const labels = `{db="postgres",op="select",result="ok",span_name="db.query"}`
	return vmSeries{
		total: set.NewCounter("db_event_total" + labels),
		hist:  set.NewPrometheusHistogramExt("db_event_duration_seconds"+labels, metrics.DefaultBuckets),
	}
}

// vmHandles is one instrumented call with handles made once: the application measures
// the duration itself (Strata's span does that anyway) and updates both metrics.
func vmHandles(s vmSeries, start time.Time) {
	s.total.Inc()
	s.hist.Update(time.Since(start).Seconds())
}

// vmDirect is one instrumented call without Strata: the series names formatted and the
// metrics looked up on each call.
func vmDirect(set *vm.Set, start time.Time, db, op, result string) {
	labels := fmt.Sprintf(`{db=%q,op=%q,result=%q,span_name=%q}`, db, op, result, "db.query")
	set.GetOrCreateCounter("db_event_total" + labels).Inc()
	set.GetOrCreatePrometheusHistogramExt("db_event_duration_seconds"+labels, metrics.DefaultBuckets).
		Update(time.Since(start).Seconds())
}

func BenchmarkDerivedMetrics(b *testing.B) {
	b.Run("strata", func(b *testing.B) {
		startEnd(b, subscriber.MustNew(metrics.New()).Tracer("bench"))
	})
	b.Run("strata_storage", func(b *testing.B) {
		startEnd(b, subscriber.MustNew(storage.New(), metrics.New()).Tracer("bench"))
	})
	b.Run("dispatch_without_metrics", func(b *testing.B) {
		startEnd(b, subscriber.MustNew(nopClose{}).Tracer("bench"))
	})
	b.Run("strata_close_hook", func(b *testing.B) {
		m := metrics.New()
		tr := subscriber.MustNew(storage.New(), m, &closeLoop{m: m, b: b}).Tracer("bench")
		_, span := tr.Start(context.Background(), "db.query", metricAttrs...)
		span.End()
	})
	b.Run("strata_close_hook_without_storage", func(b *testing.B) {
		m := metrics.New()
		tr := subscriber.MustNew(m, &closeLoop{m: m, b: b}).Tracer("bench")
		_, span := tr.Start(context.Background(), "db.query", metricAttrs...)
		span.End()
	})
	b.Run("victoriametrics_direct", func(b *testing.B) {
		set := vm.NewSet()
		b.ReportAllocs()
		for b.Loop() {
			vmDirect(set, time.Now(), "postgres", "select", "ok")
		}
	})
	b.Run("victoriametrics_handles", func(b *testing.B) {
		s := newVMSeries(vm.NewSet())
		b.ReportAllocs()
		for b.Loop() {
			vmHandles(s, time.Now())
		}
	})
	b.Run("strata_parallel", func(b *testing.B) {
		startEndParallel(b, subscriber.MustNew(metrics.New()).Tracer("bench"))
	})
	b.Run("dispatch_without_metrics_parallel", func(b *testing.B) {
		startEndParallel(b, subscriber.MustNew(nopClose{}).Tracer("bench"))
	})
	b.Run("victoriametrics_handles_parallel", func(b *testing.B) {
		s := newVMSeries(vm.NewSet())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vmHandles(s, time.Now())
			}
		})
	})
	b.Run("victoriametrics_direct_parallel", func(b *testing.B) {
		set := vm.NewSet()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vmDirect(set, time.Now(), "postgres", "select", "ok")
			}
		})
	})
}

// hooksLoop calls the metrics layer's two span hooks (OnNewSpan with the span's fields,
// then OnClose) b.N times from its own OnClose, on the closing span: the layer's own
// per-span work, without the dispatch around it.
type hooksLoop struct {
	m     *metrics.Layer
	b     *testing.B
	attrs []slog.Attr
}

func (h *hooksLoop) OnClose(span subscriber.SpanRef) {
	h.b.ReportAllocs()
	h.b.ResetTimer()
	for range h.b.N {
		h.m.OnNewSpan(span, h.attrs)
		h.m.OnClose(span)
	}
	h.b.StopTimer()
}

// BenchmarkMetricsWholePerSpan is the metrics layer's whole per-span cost for a span with
// metric_name and 2 labels: with_metrics minus without_metrics (the same dispatch,
// storage and a do-nothing layer, with and without the metrics layer; compare them
// round by round), and the layer's two hooks alone (layer_hooks). The peer is
// VictoriaMetrics with handles made once, including the duration the application must
// measure itself (two clock reads), since without Strata there is no span to time it.
// DESIGN.md: ≤ 1.5x victoriametrics_handles, 0 allocs.
func BenchmarkMetricsWholePerSpan(b *testing.B) {
	b.Run("with_metrics", func(b *testing.B) {
		startEnd(b, subscriber.MustNew(storage.New(), nopClose{}, metrics.New()).Tracer("bench"))
	})
	b.Run("without_metrics", func(b *testing.B) {
		startEnd(b, subscriber.MustNew(storage.New(), nopClose{}).Tracer("bench"))
	})
	b.Run("layer_hooks", func(b *testing.B) {
		m := metrics.New()
		tr := subscriber.MustNew(storage.New(), m, &hooksLoop{m: m, b: b, attrs: metricAttrs}).Tracer("bench")
		_, span := tr.Start(context.Background(), "db.query", metricAttrs...)
		span.End()
	})
	b.Run("victoriametrics_handles", func(b *testing.B) {
		s := newVMSeries(vm.NewSet())
		b.ReportAllocs()
		for b.Loop() {
			vmHandles(s, time.Now())
		}
	})
}
