package logfmt_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// BenchmarkLayerOnEvent measures the layer's own work for an event with 5 fields in a
// span with 5 stored fields, without the core's (the bench module measures the whole).
func BenchmarkLayerOnEvent(b *testing.B) {
	l := logfmt.New(io.Discard)
	hook := eventHook(func(ev *subscriber.Event) {
		b.ReportAllocs()
		for b.Loop() {
			l.OnEvent(ev)
		}
	})
	d := subscriber.MustNew(storage.New(), hook)
	tr := d.Tracer("songs/vendor")
	ctx, s := tr.Start(context.Background(), "request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"), slog.Int("user_id", 4242),
		slog.String("subject", "vendor.lastfm"), slog.Int("attempt", 1))
	defer s.End()
	tr.Info(ctx, "finished processing vendor request",
		slog.Int("vendor.status", 200), slog.String("vendor", "lastfm"), slog.String("cache", "miss"),
		slog.Int("bytes", 1234), slog.Int("elapsed_ms", 18))
}
