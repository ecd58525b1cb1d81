package skywalking

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
)

// segmentsOnly gives a test reporter that handles only segments the other methods:
// it refuses log records.
type segmentsOnly struct{}

func (segmentsOnly) reportLog(*logv3.LogData) bool { return false }
func (segmentsOnly) logStats() pipeline.Stats      { return pipeline.Stats{} }
func (segmentsOnly) sendMeters(context.Context, []*agentv3.MeterData) error {
	return nil
}

// fakeReporter keeps the segments in memory. With capacity > 0 it refuses segments
// beyond that many, like a full queue.
type fakeReporter struct {
	mu       sync.Mutex
	segs     []*agentv3.SegmentObject
	logs     []*logv3.LogData
	logSt    pipeline.Stats
	meters   [][]*agentv3.MeterData // one per report
	capacity int
	st       pipeline.Stats
	isShut   bool
	arrived  chan struct{}
}

func newFakeReporter() *fakeReporter { return &fakeReporter{arrived: make(chan struct{}, 1)} }

func (f *fakeReporter) report(s *agentv3.SegmentObject) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Enqueued++
	if f.isShut || (f.capacity > 0 && len(f.segs) >= f.capacity) {
		f.st.Dropped++
		return false
	}
	f.st.Sent++
	f.segs = append(f.segs, s)
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	return true
}

func (f *fakeReporter) reportLog(ld *logv3.LogData) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logSt.Enqueued++
	if f.isShut {
		f.logSt.Dropped++
		return false
	}
	f.logSt.Sent++
	f.logs = append(f.logs, ld)
	return true
}

func (f *fakeReporter) logStats() pipeline.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logSt
}

// logRecords returns the log records reported so far.
func (f *fakeReporter) logRecords() []*logv3.LogData {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.logs)
}

func (f *fakeReporter) sendMeters(_ context.Context, data []*agentv3.MeterData) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meters = append(f.meters, data)
	return nil
}

func (f *fakeReporter) flush(context.Context) error { return nil }

func (f *fakeReporter) shutdown(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isShut = true
	return nil
}

func (f *fakeReporter) stats() pipeline.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// segments returns the segments reported so far.
func (f *fakeReporter) segments() []*agentv3.SegmentObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.segs)
}

// wait returns the segments once there are n, or fails the test after timeout.
func (f *fakeReporter) wait(t testing.TB, n int, timeout time.Duration) []*agentv3.SegmentObject {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if s := f.segments(); len(s) >= n {
			return s
		}
		select {
		case <-f.arrived:
		case <-deadline:
			t.Fatalf("%d segments reported after %v, want %d", len(f.segments()), timeout, n)
		}
	}
}

// fixture is a dispatch of storage and a skywalking layer over a fake reporter.
type fixture struct {
	probe *probe
	l     *Layer
	d     *subscriber.Dispatch
	tr    *subscriber.Tracer
	rep   *fakeReporter
}

// newFixture composes storage and a layer made with opts (service "svc", instance
// "inst" unless opts say otherwise). At the end of the test it shuts the dispatch
// down and checks that every span record was released.
func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	rep := newFakeReporter()
	l, err := New(append([]Option{WithService("svc"), WithInstance("inst"), withReporter(rep)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{ended: map[string]bool{}}
	d, err := subscriber.New(storage.New(), l, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d span records still live after the test", n)
		}
	})
	return &fixture{probe: p, l: l, d: d, tr: d.Tracer("skywalking_test"), rep: rep}
}

// only returns the one segment reported, failing the test when there is not exactly one.
func (f *fixture) only(t testing.TB) *agentv3.SegmentObject {
	t.Helper()
	segs := f.rep.segments()
	if len(segs) != 1 {
		t.Fatalf("%d segments reported, want 1: %v", len(segs), describe(segs))
	}
	return segs[0]
}

// describe prints segments compactly for failure messages.
func describe(segs []*agentv3.SegmentObject) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString("\n  segment " + s.TraceSegmentId + ":")
		for _, sp := range s.Spans {
			b.WriteString(" [" + sp.OperationName)
			for _, r := range sp.Refs {
				b.WriteString(" ref:" + r.RefType.String() + "->" + r.ParentTraceSegmentId)
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

// tags returns span's tags as a map.
func tags(sp *agentv3.SpanObject) map[string]string {
	m := make(map[string]string, len(sp.Tags))
	for _, kv := range sp.Tags {
		m[kv.Key] = kv.Value
	}
	return m
}

func kvs(pairs []*commonv3.KeyStringValuePair) [][2]string {
	out := make([][2]string, len(pairs))
	for i, kv := range pairs {
		out[i] = [2]string{kv.Key, kv.Value}
	}
	return out
}

// spanNamed returns the span of seg with that operation name.
func spanNamed(t testing.TB, seg *agentv3.SegmentObject, name string) *agentv3.SpanObject {
	t.Helper()
	for _, sp := range seg.Spans {
		if sp.OperationName == name {
			return sp
		}
	}
	t.Fatalf("no span %q in segment %s", name, describe([]*agentv3.SegmentObject{seg}))
	return nil
}

// segmentWith returns the segment holding a span with that operation name.
func segmentWith(t testing.TB, segs []*agentv3.SegmentObject, name string) *agentv3.SegmentObject {
	t.Helper()
	for _, s := range segs {
		for _, sp := range s.Spans {
			if sp.OperationName == name {
				return s
			}
		}
	}
	t.Fatalf("no segment with a span %q in %s", name, describe(segs))
	return nil
}

// goroutinesSettle waits a little for the goroutine count to fall to want, and returns it.
func goroutinesSettle(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// probe notes, per span name, whether the span started from an ended, released parent.
type probe struct {
	mu    sync.Mutex
	ended map[string]bool
}

func (p *probe) OnNewSpan(span subscriber.SpanRef, _ []slog.Attr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended[span.Name()] = span.ParentEnded()
}

func (p *probe) parentEnded(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ended[name]
}
