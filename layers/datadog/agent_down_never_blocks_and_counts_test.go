package datadog_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/datadog"
)

// With no Agent listening, ending spans never waits for it: the queue fills, the spans
// beyond it are dropped and counted, the sends are retried, and Shutdown with a short
// deadline says what it lost. Every span is accounted for.
func TestAgentDownNeverBlocksAndCounts(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	svc := newService(t, datadog.WithAgentURL(downURL(t)), datadog.WithQueueSize(8), datadog.WithBatchSize(4),
		datadog.WithFlushInterval(time.Millisecond), datadog.WithLogf(func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, f)
			mu.Unlock()
		}))
	const n = 200
	for range n {
		_, s := svc.tr.Start(context.Background(), "work")
		s.End()
	}
	st := svc.dd.Stats()
	if st.Spans != n || st.Dropped < n-8 {
		t.Errorf("Spans %d Dropped %d, want %d and at least %d", st.Spans, st.Dropped, n, n-8)
	}
	// The sender keeps retrying the batch it holds.
	deadline := time.Now().Add(10 * time.Second)
	for svc.dd.Stats().Retries == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if svc.dd.Stats().Retries == 0 {
		t.Error("no retry against a closed port")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := svc.dd.Shutdown(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with the agent down = %v, want a deadline error saying what was lost", err)
	}
	st = svc.dd.Stats()
	if st.Sent != 0 || st.Queued != 0 || st.Dropped+st.Failed != n {
		t.Errorf("after Shutdown: %+v, want Dropped+Failed = %d, nothing sent or queued", st, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) == 0 || len(logs) > 10 {
		t.Errorf("%d log lines for a down agent, want a few (rate-limited)", len(logs))
	}
}

// A flood of spans against an Agent that does not answer in time overflows a small
// queue: the excess is dropped and counted, the rest is delivered once the Agent
// answers.
func TestFloodOverflowsASmallQueue(t *testing.T) {
	agent := newFakeAgent(t)
	hold := make(chan struct{})
	agent.mu.Lock()
	agent.hold = hold
	agent.mu.Unlock()
	svc := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithQueueSize(16), datadog.WithBatchSize(8),
		datadog.WithFlushInterval(time.Millisecond))
	const n = 1000
	for range n {
		_, s := svc.tr.Start(context.Background(), "flood")
		s.End()
	}
	close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.dd.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := svc.dd.Stats()
	got := len(agent.spans())
	if st.Dropped == 0 || st.Dropped < n-16 || st.Sent != uint64(got) || st.Sent+st.Dropped != n || st.Failed != 0 {
		t.Errorf("stats %+v with %d spans received, want at least %d dropped and the rest sent", st, got, n-16)
	}
}

// Shutdown with a live Agent delivers everything queued, even with a long flush
// interval, each span once.
func TestShutdownDeliversEverythingQueued(t *testing.T) {
	agent := newFakeAgent(t)
	svc := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithBatchSize(50), datadog.WithFlushInterval(time.Hour))
	const n = 500
	ids := map[uint64]bool{}
	for range n {
		_, s := svc.tr.Start(context.Background(), "job")
		ids[uint64(s.ID())] = true
		s.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.dd.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := agent.spans()
	got := map[uint64]int{}
	for _, s := range spans {
		got[s.SpanID]++
	}
	for id := range ids {
		if got[id] != 1 {
			t.Errorf("span %d received %d times, want once", id, got[id])
		}
	}
	if st := svc.dd.Stats(); len(spans) != n || st.Sent != n || st.Dropped+st.Failed+uint64(st.Queued) != 0 {
		t.Errorf("%d spans received, stats %+v; want %d sent", len(spans), st, n)
	}
	// The layer is done: later spans are dropped and counted, never sent.
	_, s := svc.tr.Start(context.Background(), "late")
	s.End()
	if st := svc.dd.Stats(); st.Dropped != 1 {
		t.Errorf("a span after Shutdown: Dropped = %d, want 1", st.Dropped)
	}
}

// An Agent answering 503 or 429 gets the same payload again, once it accepts it; one
// answering 400 loses the payload, counted as failed and rejected, and logged.
func TestAgentAnswersDecideRetryOrLoss(t *testing.T) {
	agent := newFakeAgent(t)
	agent.mu.Lock()
	agent.status = []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	agent.mu.Unlock()
	svc := newService(t, datadog.WithAgentURL(agent.url()))
	runTrace(svc, "retried")
	svc.flush(t)
	st := svc.dd.Stats()
	if len(agent.spans()) != 3 || st.Sent != 3 || st.Retries != 2 || st.Failed != 0 {
		t.Errorf("after 503 and 429: %d spans received, stats %+v; want 3 sent after 2 retries", len(agent.spans()), st)
	}

	var mu sync.Mutex
	var logs []string
	bad := newFakeAgent(t)
	bad.mu.Lock()
	bad.status = []int{http.StatusBadRequest}
	bad.mu.Unlock()
	svc2 := newService(t, datadog.WithAgentURL(bad.url()), datadog.WithLogf(func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, f)
		mu.Unlock()
	}))
	runTrace(svc2, "refused")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc2.dd.Flush(ctx); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("Flush after a 400 = %v, want the loss reported", err)
	}
	st = svc2.dd.Stats()
	if st.Failed != 3 || st.Rejected != 1 || st.Sent != 0 || st.Retries != 0 {
		t.Errorf("after a 400: stats %+v, want 3 failed in 1 rejected payload", st)
	}
	if err := svc2.dd.Shutdown(ctx); err != nil { // the log line is written by then
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) == 0 {
		t.Error("a refused payload was not logged")
	}
	g := svc2.dd.Gauges()
	for name, want := range map[string]float64{"strata_datadog_spans_failed_total": 3, "strata_datadog_payloads_rejected_total": 1,
		"strata_datadog_spans_total": 3, "strata_datadog_agent_sampling_rate": 1} {
		fn, ok := g[name]
		if !ok {
			t.Errorf("no gauge %s among %v", name, sortedKeys(g))
			continue
		}
		if got := fn(); got != want {
			t.Errorf("gauge %s = %v, want %v", name, got, want)
		}
	}
	for name := range g {
		if !strings.HasPrefix(name, "strata_datadog_") {
			t.Errorf("gauge %s is not prefixed strata_datadog_", name)
		}
	}
}
