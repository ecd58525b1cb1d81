package datadog_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/subscriber"
)

// runTrace makes a trace of a root and two children and returns its Datadog trace id.
func runTrace(s *service, name string) {
	ctx, root := s.tr.Start(context.Background(), name, slog.String("otel.kind", "server"))
	_, a := s.tr.Start(ctx, name+".a")
	_, b := s.tr.Start(ctx, name+".b")
	a.End()
	b.End()
	root.End()
}

// priorities groups the sampling priorities the agent saw by trace.
func priorities(t *testing.T, a *fakeAgent) map[uint64][]float64 {
	t.Helper()
	out := map[uint64][]float64{}
	for _, s := range a.spans() {
		p, ok := s.Metrics["_sampling_priority_v1"]
		if !ok {
			t.Errorf("span %s without _sampling_priority_v1", s.Resource)
		}
		out[s.TraceID] = append(out[s.TraceID], p)
	}
	return out
}

// The Agent's answer sets the rate of the traces that follow: rate 0 sends every span
// of a trace with priority 0 (and counts them), rate 1 with priority 1, and a rate in
// between decides per trace, every span of a trace agreeing.
func TestAgentSamplingRatesAreHonoured(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   float64 // -1: mixed
	}{
		{`{"rate_by_service":{"service:songs,env:prod":0,"service:,env:":1}}`, 0},
		{`{"rate_by_service":{"service:other,env:prod":0,"service:,env:":1}}`, 1},
		{`{"rate_by_service":{"service:,env:":0}}`, 0},
		{`{"rate_by_service":{"service:songs,env:prod":0.5}}`, -1},
	} {
		agent := newFakeAgent(t)
		agent.setAnswer(tc.answer)
		svc := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithService("songs"), datadog.WithEnv("prod"))
		runTrace(svc, "warmup") // its answer carries the rates
		svc.flush(t)
		agent.mu.Lock()
		agent.payloads = nil
		agent.mu.Unlock()
		if st := svc.dd.Stats(); st.AgentRates != 1 {
			t.Fatalf("%s: AgentRates = %d after one answer, want 1", tc.answer, st.AgentRates)
		}
		for range 64 {
			runTrace(svc, "req")
		}
		svc.flush(t)
		byTrace := priorities(t, agent)
		if len(byTrace) != 64 {
			t.Fatalf("%s: %d traces, want 64", tc.answer, len(byTrace))
		}
		seen := map[float64]int{}
		zeros := 0
		for id, ps := range byTrace {
			if len(ps) != 3 {
				t.Errorf("trace %d: %d spans", id, len(ps))
			}
			for _, p := range ps {
				if p != ps[0] {
					t.Errorf("%s: trace %d has priorities %v, want one for all its spans", tc.answer, id, ps)
				}
			}
			seen[ps[0]]++
			if ps[0] == 0 {
				zeros += len(ps)
			}
		}
		switch {
		case tc.want >= 0 && (len(seen) != 1 || seen[tc.want] != 64):
			t.Errorf("%s: priorities by trace %v, want all %v", tc.answer, seen, tc.want)
		case tc.want < 0 && (seen[0] == 0 || seen[1] == 0):
			t.Errorf("%s: priorities by trace %v, want some kept and some not", tc.answer, seen)
		}
		if got := svc.dd.Stats().SampledOut; got != uint64(zeros) {
			t.Errorf("%s: SampledOut = %d, want %d", tc.answer, got, zeros)
		}
	}
}

// A priority received in x-datadog-sampling-priority wins over the Agent's rate for
// every span of the trace, and is passed on to the next service.
func TestUpstreamPriorityWins(t *testing.T) {
	agent := newFakeAgent(t)
	agent.setAnswer(`{"rate_by_service":{"service:,env:":0}}`)
	svc := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithService("songs"))
	runTrace(svc, "warmup")
	svc.flush(t)
	agent.mu.Lock()
	agent.payloads = nil
	agent.mu.Unlock()

	in := subscriber.MapCarrier{"x-datadog-trace-id": "1234", "x-datadog-parent-id": "99", "x-datadog-sampling-priority": "2"}
	ctx := svc.d.Extract(context.Background(), in)
	ctx, root := svc.tr.Start(ctx, "entry", slog.String("otel.kind", "server"))
	cctx, child := svc.tr.Start(ctx, "call", slog.String("otel.kind", "client"))
	out := subscriber.MapCarrier{}
	svc.d.Inject(cctx, out)
	child.End()
	root.End()
	runTrace(svc, "local") // no upstream: the Agent's rate 0
	svc.flush(t)

	if out["x-datadog-sampling-priority"] != "2" || out["x-datadog-trace-id"] != "1234" {
		t.Errorf("injected %v, want trace 1234 and priority 2", out)
	}
	for id, ps := range priorities(t, agent) {
		want := 0.0
		if id == 1234 {
			want = 2
		}
		for _, p := range ps {
			if p != want {
				t.Errorf("trace %d: priorities %v, want all %v", id, ps, want)
			}
		}
	}
	entry := agent.find(t, "entry")
	if entry.ParentID != 99 || entry.Meta["_dd.p.tid"] != "" || entry.Metrics["_dd.top_level"] != 1 {
		t.Errorf("entry span: parent %d, _dd.p.tid %q, top level %v; want 99, none (64-bit trace), 1",
			entry.ParentID, entry.Meta["_dd.p.tid"], entry.Metrics["_dd.top_level"])
	}
}
