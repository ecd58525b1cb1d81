package skywalking

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// discard is a reporter that keeps nothing: the benchmark measures assembly.
type discard struct{ segmentsOnly }

func (discard) report(*agentv3.SegmentObject) bool { return true }
func (discard) flush(context.Context) error        { return nil }
func (discard) shutdown(context.Context) error     { return nil }
func (discard) stats() pipeline.Stats              { return pipeline.Stats{} }

// queued is a reporter over the real pipeline whose sender drops the batches: assembly
// plus the queue, no network.
func queued() reporter {
	q := pipeline.New(pipeline.Config{Name: "bench"}, recycling(
		func(context.Context, []*agentv3.SegmentObject) error { return nil }))
	return &pipelineOnly{q: q}
}

type pipelineOnly struct {
	segmentsOnly
	q *pipeline.Pipeline[*agentv3.SegmentObject]
}

func (p *pipelineOnly) report(s *agentv3.SegmentObject) bool { return p.q.Enqueue(s) }
func (p *pipelineOnly) flush(ctx context.Context) error      { return p.q.Flush(ctx) }
func (p *pipelineOnly) shutdown(ctx context.Context) error   { return p.q.Shutdown(ctx) }
func (p *pipelineOnly) stats() pipeline.Stats                { return p.q.Stats() }

// BenchmarkRequest is a root with two children (an entry span with three HTTP fields, a
// local child with one field, an exit child with a peer) through storage + skywalking:
// one segment of three spans per iteration.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct {
		name string
		rep  func() reporter
	}{{"assembly", func() reporter { return discard{} }}, {"queue", queued}} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := New(WithService("bench"), withReporter(bc.rep()))
			if err != nil {
				b.Fatal(err)
			}
			d := subscriber.MustNew(storage.New(), l)
			defer d.Shutdown(context.Background())
			tr := d.Tracer("bench")
			b.ReportAllocs()
			for b.Loop() {
				ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"),
					slog.String("http.method", "GET"), slog.String("http.route", "/songs"))
				_, c1 := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
				c1.End()
				_, c2 := tr.Start(ctx, "GET lastfm", slog.String("otel.kind", "client"), slog.String("peer", "api.last.fm:443"))
				c2.End()
				root.End()
			}
		})
	}
}

// BenchmarkRequestParallel is BenchmarkRequest on every core.
func BenchmarkRequestParallel(b *testing.B) {
	l, err := New(WithService("bench"), withReporter(discard{}))
	if err != nil {
		b.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), l)
	defer d.Shutdown(context.Background())
	tr := d.Tracer("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"),
				slog.String("http.method", "GET"), slog.String("http.route", "/songs"))
			_, c1 := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
			c1.End()
			_, c2 := tr.Start(ctx, "GET lastfm", slog.String("otel.kind", "client"), slog.String("peer", "api.last.fm:443"))
			c2.End()
			root.End()
		}
	})
}

var sinkSW8 SW8

func BenchmarkSW8(b *testing.B) {
	h := SW8{Sampled: true, TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSegmentID: "b7ad6b7169203331b7ad6b7169203331",
		ParentSpanID: 1, ParentService: "gateway", ParentInstance: "12345@gw-host", ParentEndpoint: "GET /api/songs", AddressUsedAtClient: "songs:8080"}
	s := h.Encode()
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s = h.Encode()
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkSW8, _ = DecodeSW8(s)
		}
	})
}
