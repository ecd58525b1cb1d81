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
// without Strata: format the series name and look the metrics up in VictoriaMetrics on
// every call.

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
	b.Run("strata_parallel", func(b *testing.B) {
		startEndParallel(b, subscriber.MustNew(metrics.New()).Tracer("bench"))
	})
	b.Run("dispatch_without_metrics_parallel", func(b *testing.B) {
		startEndParallel(b, subscriber.MustNew(nopClose{}).Tracer("bench"))
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
