package bench

// The dd_trace_go row of BenchmarkDatadogSpan: Datadog's own Go tracer,
// github.com/DataDog/dd-trace-go/v2 v2.3.0, sending to the same kind of no-op agent as
// the strata row (ddAgent).
//
// What the tracer is set to do: trace to the agent's address (tracer.WithAgentAddr),
// DogStatsD health metrics to a UDP socket on 127.0.0.1 that discards them, no client
// stats computation, no runtime metrics (its default), no remote configuration, no
// startup log, no data streams, profiler and AppSec not started. Instrumentation
// telemetry is decided when dd-trace-go's package is initialised, from
// DD_INSTRUMENTATION_TELEMETRY_ENABLED in the process's environment: setting it in the
// test is too late, so unless the run sets it, the tracer's few telemetry requests go
// to the agent and get a 404 (one app-started and a heartbeat a minute: nothing per
// span). The agent's /info answers 404, so the tracer uses its defaults (no P0
// dropping, every span kept: AlwaysSample's equivalent).

import (
	"testing"
	"time"

	"github.com/DataDog/dd-trace-go/v2/ddtrace/tracer"
)

var sinkDDSpan *tracer.Span

// ddLogger keeps dd-trace-go quiet.
type ddLogger struct{}

func (ddLogger) Log(string) {}

// startDDTraceGo starts dd-trace-go's global tracer against agent; it is stopped when
// the test ends.
func startDDTraceGo(tb testing.TB, agent *ddAgent) {
	tb.Helper()
	for k, v := range map[string]string{
		"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false", // too late: see the file's comment
		"DD_REMOTE_CONFIGURATION_ENABLED":      "false",
		"DD_TRACE_STARTUP_LOGS":                "false",
		"DD_TRACE_STATS_COMPUTATION_ENABLED":   "false",
		"DD_RUNTIME_METRICS_ENABLED":           "false",
		"DD_DATA_STREAMS_ENABLED":              "false",
		"DD_PROFILING_ENABLED":                 "false",
		"DD_APPSEC_ENABLED":                    "false",
	} {
		tb.Setenv(k, v)
	}
	statsd := startJaegerSink(tb, nil) // a UDP socket that reads and discards
	err := tracer.Start(tracer.WithService("bench"), tracer.WithAgentAddr(agent.addr),
		tracer.WithDogstatsdAddr(statsd.addr), tracer.WithStatsComputation(false),
		tracer.WithLogStartup(false), tracer.WithLogger(ddLogger{}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tracer.Stop)
}

// ddTraceGoSpan starts and finishes the exported span through dd-trace-go.
func ddTraceGoSpan() {
	sp := tracer.StartSpan(expSpanName, tracer.Tag(expStrKey, expStrVal), tracer.Tag(expIntKey, expIntVal))
	sp.Finish()
	sinkDDSpan = sp
}

// ddInFlight bounds the spans the dd_trace_go row lets be on their way to the agent:
// with the 256 spans between checks, fewer than the 1,000 its trace channel holds.
const ddInFlight = 600

// ddFlush flushes dd-trace-go until the agent has counted n spans, at most 10s; it
// reports whether it got there. tracer.Flush sends what the tracer's worker has taken
// from its trace channel so far (and sends it asynchronously), so one call can leave
// the last traces for the next 2s tick: it is called again every 2ms.
func ddFlush(agent *ddAgent, n int64) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tracer.Flush()
		if waitSpans(agent, n, 2*time.Millisecond) {
			return true
		}
	}
	return false
}

// runDDTraceGo is the dd_trace_go row. dd-trace-go hands each finished trace to its
// worker goroutine through a channel of 1,000 traces, and drops the trace when the
// channel is full; the worker encodes it into its payload, which it sends every 2s
// (or at ~9.5 MB, or on tracer.Flush). Left to itself in this loop on 2 cores, the
// worker falls behind and about a quarter of the spans are dropped (measured while
// writing this row), which would make the row cheaper than the work it claims. So the
// loop waits for it as the Strata rows wait for their queue: whenever more than
// ddInFlight spans are not yet at the agent, it flushes until they are (ddFlush).
// That sends a payload every 600 to 860 spans, fewer requests than the Strata row's
// batches of its default size. The measurement ends with ddFlush too.
func runDDTraceGo(b *testing.B) {
	agent := startDDAgent(b, nil)
	startDDTraceGo(b, agent)
	ddTraceGoSpan()
	if !ddFlush(agent, 1) {
		b.Fatal("the warm-up span did not reach the agent")
	}
	base := agent.spans()
	cpu := startCPU(b)
	for i := range b.N {
		ddTraceGoSpan()
		if i%256 == 255 && int64(i+1)-(agent.spans()-base) > ddInFlight {
			ddFlush(agent, base+int64(i+1))
		}
	}
	cpu.stop(func() { ddFlush(agent, base+int64(b.N)) })
	reportSinkDrops(b, agent, base, b.N)
}

// The dd_trace_go row of DatadogSpan delivers every span to the agent as a span named
// op of service bench, with http.route in meta and song.id in metrics (the strata row:
// TestDatadogSpanStrataRowDeliversEverySpan); the test log says what else it sends.
func TestDatadogSpanDDTraceGoRowDeliversEverySpan(t *testing.T) {
	var dd ddSpans
	agent := startDDAgent(t, dd.keep)
	startDDTraceGo(t, agent)
	for range fairSpans {
		ddTraceGoSpan()
	}
	ddFlush(agent, fairSpans)
	ddCheckSpans(t, "dd_trace_go", agent, &dd, fairSpans)
}
