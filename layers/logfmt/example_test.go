package logfmt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// Storage first, then logfmt: every line carries the fields of its span and of the
// span's ancestors, nearest first (the span's own, then its parent's). Ids, times and locations are left out here so that the output is
// the same on every run.
func Example() {
	d := subscriber.MustNew(
		storage.New(),
		logfmt.New(os.Stdout, logfmt.WithoutKeys("span", "parent_span", "trace_id", "timestamp", "latency_ms", "location")),
	)
	defer d.Shutdown(context.Background())
	tr := d.Tracer("songs/vendor")

	ctx, req := tr.Start(context.Background(), "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"))
	vctx, task := tr.Start(ctx, "vendor.lastfm.task", slog.String("subject", "vendor.lastfm"))
	tr.Info(vctx, "finished processing vendor request", slog.Int("vendor.status", 200))
	task.EndErr(errors.New("rate limited"))
	req.End()
	// Output:
	// level=INFO span_name="HTTP request" span_event=new_span http.method=POST http.route=/songs
	// level=INFO span_name=vendor.lastfm.task span_event=new_span subject=vendor.lastfm http.method=POST http.route=/songs
	// level=INFO msg="finished processing vendor request" vendor.status=200 subject=vendor.lastfm http.method=POST http.route=/songs target=songs/vendor
	// level=INFO span_name=vendor.lastfm.task span_event=close_span subject=vendor.lastfm error="rate limited" http.method=POST http.route=/songs
	// level=INFO span_name="HTTP request" span_event=close_span http.method=POST http.route=/songs
}

// Errors go to stderr as well as to the main output, which a goroutine writes so that
// a slow destination never holds the program up.
func ExampleNewLevelRouter() {
	out := logfmt.NewAsyncWriter(os.Stdout)
	w := logfmt.NewLevelRouter(out, subscriber.LevelError, os.Stderr)
	d := subscriber.MustNew(storage.New(), logfmt.New(w, logfmt.WithoutKeys("timestamp", "location")))
	tr := d.Tracer("songs")

	tr.Info(context.Background(), "listening", slog.String("addr", ":8080"))
	tr.Error(context.Background(), "vendor unreachable", slog.String("error", "dial tcp: i/o timeout"))

	// Shutdown delivers what the async writer holds and stops its goroutine.
	if err := d.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// level=INFO msg=listening addr=:8080 target=songs
	// level=ERROR msg="vendor unreachable" error="dial tcp: i/o timeout" target=songs
}

// An AsyncWriter drops lines rather than block when its queue is full, and counts them.
func ExampleAsyncWriter() {
	w := logfmt.NewAsyncWriter(os.Stdout, logfmt.WithQueueSize(1024))
	d := subscriber.MustNew(logfmt.New(w, logfmt.WithoutKeys("timestamp", "location", "target")))
	d.Tracer("songs").Warn(context.Background(), "slow query", slog.Duration("took", 1500_000_000))
	if err := d.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("dropped:", w.Dropped())
	// Output:
	// level=WARN msg="slow query" took=1.5s
	// dropped: 0
}
