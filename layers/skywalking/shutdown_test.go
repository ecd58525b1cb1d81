package skywalking

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/subscriber"
)

// Shutdown reports the segments that wait for late spans, says how many segments still
// had open spans, stops the sweeper (no goroutine is left), and a second call returns
// the same answer.
func TestShutdownFlushesLingeringSegmentsAndLeaksNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	rep := newFakeReporter()
	l, err := New(WithService("svc"), withReporter(rep)) // default linger: far longer than the test
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(l)
	tr := d.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	_, open := tr.Start(ctx, "never ends before shutdown")
	root.End()
	if n := len(rep.segments()); n != 0 {
		t.Fatalf("%d segments before the linger, want 0", n)
	}

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = d.Shutdown(sctx)
	if err == nil || !strings.Contains(err.Error(), "segments with spans still open at shutdown: 1 ") {
		t.Errorf("Shutdown = %v, want it to say 1 segment still had open spans", err)
	}
	segs := rep.segments()
	if len(segs) != 1 || len(segs[0].Spans) != 1 || segs[0].Spans[0].OperationName != "root" {
		t.Errorf("after Shutdown: %s, want the root's segment", describe(segs))
	}
	if err2 := l.Shutdown(sctx); err2 == nil || !strings.Contains(err.Error(), err2.Error()) {
		t.Errorf("second Shutdown = %v, want the first's %v", err2, err)
	}
	if n := goroutinesSettle(before); n > before {
		t.Errorf("%d goroutines after Shutdown, %d before New", n, before)
	}
	open.End() // a span ending after shutdown is dropped by the reporter, counted
	if st := l.Stats(); st.Dropped != 1 {
		t.Errorf("after a late End: %+v, want 1 dropped", st)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Errorf("%d records live", n)
	}
}
