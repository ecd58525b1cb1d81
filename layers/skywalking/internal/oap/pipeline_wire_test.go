package oap_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
)

func TestCollectorDownAtStartReceivesQueuedSegmentsWhenItComesUp(t *testing.T) {
	addr := freeAddr(t)
	c := dial(t, oap.Config{Address: addr, Heartbeat: 50 * time.Millisecond})
	p := newPipeline(t, c, 10)
	for i := range 25 {
		p.Enqueue(segment(i))
	}
	waitFor(t, "retries against the absent collector", func() bool { return p.Stats().Retries >= 2 })
	if s := p.Stats(); s.Sent != 0 || s.Failed != 0 || s.Queued != 25 {
		t.Fatalf("stats while the collector is down %+v, want all 25 queued", s)
	}

	col := oaptest.StartAt(t, addr)
	got := col.WaitSegments(t, 25, 5*time.Second)
	if err := p.Shutdown(within(t, 3*time.Second)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkUnique(t, got)
	if len(got) != 25 {
		t.Fatalf("%d segments arrived, want 25", len(got))
	}
	if s := p.Stats(); s.Sent != 25 || s.Failed != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	col.WaitProperties(t, 1, 3*time.Second) // reported once the connection came up
}

func TestCollectorRestartLosesAtMostWhatWasInFlightAndCountsIt(t *testing.T) {
	col := oaptest.Start(t)
	addr := col.Addr()
	c := dial(t, oap.Config{Address: addr, Heartbeat: 50 * time.Millisecond})
	const batch = 10
	p := newPipeline(t, c, batch)

	var wg sync.WaitGroup
	stopFeeding := make(chan struct{})
	wg.Go(func() { // about 1000 segments a second
		for i := 0; ; i++ {
			select {
			case <-stopFeeding:
				return
			case <-time.After(time.Millisecond):
			}
			p.Enqueue(segment(i))
		}
	})

	time.Sleep(200 * time.Millisecond)
	col.Stop()
	time.Sleep(200 * time.Millisecond)
	restarted := oaptest.StartAt(t, addr)
	time.Sleep(200 * time.Millisecond)
	close(stopFeeding)
	wg.Wait()

	if err := p.Flush(within(t, 5*time.Second)); err != nil {
		t.Logf("Flush: %v", err) // reports the batches lost in the restart
	}
	if err := p.Shutdown(within(t, 3*time.Second)); err != nil {
		t.Fatalf("Shutdown with the collector back: %v", err)
	}
	s := p.Stats()
	t.Logf("stats %+v; %d segments before the restart, %d after", s, len(col.Segments()), len(restarted.Segments()))
	checkBalance(t, s)
	if s.Queued != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v: nothing should be queued or dropped", s)
	}
	if s.Retries == 0 || len(col.Segments()) == 0 || len(restarted.Segments()) == 0 {
		t.Fatalf("stats %+v, %d and %d segments: the test did not exercise a restart", s, len(col.Segments()), len(restarted.Segments()))
	}
	// At most the batches in flight when the collector went away are lost.
	if s.Failed > 3*batch {
		t.Fatalf("%d segments failed, more than the batches in flight", s.Failed)
	}
	received := append(col.Segments(), restarted.Segments()...)
	checkUnique(t, received)
	// Every segment counted as sent arrived; a failed one may have arrived too (the
	// collector died before answering), never twice.
	if n := uint64(len(received)); n < s.Sent || n > s.Sent+s.Failed {
		t.Fatalf("%d segments received, Sent %d, Failed %d", n, s.Sent, s.Failed)
	}
}

func TestShutdownWithLiveCollectorLosesNothing(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr()})
	p := newPipeline(t, c, 50)
	for i := range 500 {
		if !p.Enqueue(segment(i)) {
			t.Fatalf("segment %d dropped", i)
		}
	}
	if err := p.Shutdown(within(t, 5*time.Second)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := col.Segments()
	checkUnique(t, got)
	if len(got) != 500 {
		t.Fatalf("%d segments arrived, want 500", len(got))
	}
	for i, seg := range got {
		if seg.TraceSegmentId != segment(i).TraceSegmentId {
			t.Fatalf("segment %d is %s: out of order", i, seg.TraceSegmentId)
		}
	}
	if s := p.Stats(); s.Sent != 500 || s.Failed+s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestShutdownWithDeadCollectorReturnsByDeadlineAndCountsTheLoss(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr()})
	p := newPipeline(t, c, 10)
	p.Enqueue(segment(0))
	col.WaitSegments(t, 1, 3*time.Second)
	col.Stop()
	for i := 1; i <= 30; i++ {
		p.Enqueue(segment(i))
	}

	start := time.Now()
	err := p.Shutdown(within(t, 300*time.Millisecond))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Shutdown took %v with a 300ms deadline", d)
	}
	// The first batch after Stop may go out before the client notices the collector
	// is gone, and fail in flight; the error counts it with the rest.
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "30 items not delivered") {
		t.Fatalf("Shutdown error %v, want the deadline and 30 items lost", err)
	}
	s := p.Stats()
	if s.Sent != 1 || s.Failed != 30 || s.Queued != 0 {
		t.Fatalf("stats %+v, want 1 sent, 30 failed", s)
	}
	checkBalance(t, s)
}

func TestSecondAddressIsUsedWhenTheFirstIsDown(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: freeAddr(t) + ", " + col.Addr()})
	p := newPipeline(t, c, 10)
	for i := range 5 {
		p.Enqueue(segment(i))
	}
	col.WaitSegments(t, 5, 5*time.Second)
	if err := p.Shutdown(within(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestUnreachableCollectorIsARetry(t *testing.T) {
	c := dial(t, oap.Config{Address: freeAddr(t)})
	err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)})
	if !pipeline.IsRetry(err) {
		t.Fatalf("SendSegments to a closed port: %v, want a Retry error", err)
	}
}

// checkUnique fails the test if a segment arrived twice.
func checkUnique(t *testing.T, segs []*agentv3.SegmentObject) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range segs {
		if seen[s.TraceSegmentId] {
			t.Fatalf("segment %s arrived twice", s.TraceSegmentId)
		}
		seen[s.TraceSegmentId] = true
	}
}
