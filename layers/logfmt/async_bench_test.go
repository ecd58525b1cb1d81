package logfmt_test

import (
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The AsyncWriter's budget is CPU, not wall time: its goroutine does part of the work on
// another core, where ns/op does not see it. cpu-ns/op is the process's user+sys time
// over the loop, including the final Flush, divided by the iterations. Compare
// sync and async runs of the same benchmark, interleaved (-count), on a quiet machine.

// cpuNow returns the process's CPU time so far (user+sys, every thread).
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// asyncBenchWriter returns the writer a benchmark case writes to, and a function that
// drains it, reports drop-% for lines lines sent, and stops it.
func asyncBenchWriter(b *testing.B, async bool) (io.Writer, func(lines uint64)) {
	if !async {
		return io.Discard, func(uint64) {}
	}
	a := logfmt.NewAsyncWriter(io.Discard)
	return a, func(lines uint64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if lines > 0 {
			b.ReportMetric(100*float64(a.Dropped())/float64(lines), "drop-%")
		}
		if got := a.Written() + a.Dropped() + a.Failed(); got != lines {
			b.Errorf("written+dropped+failed = %d, want the %d lines sent", got, lines)
		}
		if err := a.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// request makes the 4 lines of a small request through storage and logfmt: a span
// with 5 fields (new_span and close_span lines) and 2 events with 3 fields each, about
// 200 bytes a line.
func request(ctx context.Context, tr *subscriber.Tracer) {
	ctx, s := tr.Start(ctx, "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"),
		slog.Int("user_id", 4242), slog.String("subject", "songs.api"), slog.Int("attempt", 1))
	tr.Info(ctx, "vendor request sent",
		slog.String("vendor", "lastfm"), slog.String("cache", "miss"), slog.Int("bytes", 1234))
	tr.Info(ctx, "finished processing vendor request",
		slog.Int("vendor.status", 200), slog.String("vendor", "lastfm"), slog.Int("elapsed_ms", 18))
	s.End()
}

const linesPerRequest = 4

func BenchmarkAsyncRequest(b *testing.B) {
	for _, c := range []struct {
		name  string
		async bool
	}{{"sync", false}, {"async", true}} {
		b.Run(c.name, func(b *testing.B) {
			w, finish := asyncBenchWriter(b, c.async)
			d := subscriber.MustNew(storage.New(), logfmt.New(w, logfmt.WithoutLocation()))
			tr := d.Tracer("songs/vendor")
			ctx := context.Background()
			request(ctx, tr) // warm the pools
			b.ReportAllocs()
			start := cpuNow(b)
			for b.Loop() {
				request(ctx, tr)
			}
			finish(uint64(b.N+1) * linesPerRequest)
			b.ReportMetric(float64(cpuNow(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkAsyncRequestParallel is BenchmarkAsyncRequest from every core at once,
// where the queue is under most pressure.
func BenchmarkAsyncRequestParallel(b *testing.B) {
	for _, c := range []struct {
		name  string
		async bool
	}{{"sync", false}, {"async", true}} {
		b.Run(c.name, func(b *testing.B) {
			w, finish := asyncBenchWriter(b, c.async)
			d := subscriber.MustNew(storage.New(), logfmt.New(w, logfmt.WithoutLocation()))
			tr := d.Tracer("songs/vendor")
			request(context.Background(), tr)
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuNow(b)
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					request(ctx, tr)
				}
			})
			finish(uint64(b.N+1) * linesPerRequest)
			b.ReportMetric(float64(cpuNow(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkAsyncWriterLine is the writer's own cost for one ready 200-byte line: what
// the AsyncWriter adds to a line that costs nothing to make.
func BenchmarkAsyncWriterLine(b *testing.B) {
	line := []byte(`level=INFO msg="finished processing vendor request" vendor.status=200 vendor=lastfm elapsed_ms=18 http.method=POST http.route=/songs user_id=4242 subject=songs.api span=4526125871 trace_id=c53cb2` + "\n")
	for _, c := range []struct {
		name  string
		async bool
	}{{"sync", false}, {"async", true}} {
		b.Run(c.name, func(b *testing.B) {
			w, finish := asyncBenchWriter(b, c.async)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			start := cpuNow(b)
			for b.Loop() {
				w.Write(line)
			}
			finish(uint64(b.N))
			b.ReportMetric(float64(cpuNow(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
