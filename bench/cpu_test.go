package bench

// CPU time beside wall time. A benchmark's ns/op is wall time on the benchmarking
// goroutine(s); work handed to a background goroutine (the AsyncWriter's writer, the
// OpenTelemetry batch processor's exporter) is then done in parallel on another core and
// vanishes from ns/op. cpu-ns/op is the process's CPU time (getrusage: user + system,
// every goroutine, the garbage collector included) over the timed loop, divided by b.N.
// Background work is flushed before the measurement stops, so it is counted.

import (
	"context"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
)

// cpuTimer measures wall time (the benchmark's own timer) and process CPU time over the
// same interval.
type cpuTimer struct {
	b     *testing.B
	start int64
	ok    bool
}

// startCPU resets the benchmark timer and starts measuring CPU time. Call it after the
// setup, right before the b.N loop (or b.RunParallel).
func startCPU(b *testing.B) *cpuTimer {
	b.ReportAllocs()
	b.ResetTimer()
	t, ok := processCPU()
	return &cpuTimer{b: b, start: int64(t), ok: ok}
}

// stop calls flush (if any: to deliver what background goroutines still hold, inside
// the measurement), stops the benchmark timer and reports cpu-ns/op.
func (c *cpuTimer) stop(flush ...func()) {
	for _, f := range flush {
		f()
	}
	c.b.StopTimer()
	if !c.ok {
		return
	}
	t, ok := processCPU()
	if !ok {
		return
	}
	c.b.ReportMetric(float64(int64(t)-c.start)/float64(c.b.N), "cpu-ns/op")
}

// asyncStats reports the share of lines an AsyncWriter dropped since a snapshot, as
// drop-% (reported even when 0, so that a reader sees the async rows lost nothing).
type asyncStats struct {
	w                        *logfmt.AsyncWriter
	written, dropped, failed uint64
}

func snapshotAsync(w *logfmt.AsyncWriter) asyncStats {
	return asyncStats{w: w, written: w.Written(), dropped: w.Dropped(), failed: w.Failed()}
}

// flush waits until the writer has handed every queued line to its destination.
func (s asyncStats) flush(tb testing.TB) {
	if err := s.w.Flush(context.Background()); err != nil {
		tb.Error(err)
	}
}

func (s asyncStats) report(b *testing.B) {
	written := s.w.Written() - s.written
	dropped := s.w.Dropped() - s.dropped
	failed := s.w.Failed() - s.failed
	total := written + dropped + failed
	if total == 0 {
		return
	}
	b.ReportMetric(100*float64(dropped)/float64(total), "drop-%")
}
