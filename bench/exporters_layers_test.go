package bench

// The strata rows of JaegerSpan and DatadogSpan, and their fairness tests.

import (
	"fmt"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/jaeger"
)

// newJaegerLayer is storage's companion in the strata row of JaegerSpan.
func newJaegerLayer(tb testing.TB, addr string) exportLayer {
	tb.Helper()
	l, err := jaeger.New(jaeger.WithAgent(addr), jaeger.WithService("bench"), jaeger.WithQueueSize(exportQueueSize))
	if err != nil {
		tb.Fatal(err)
	}
	return exportLayer{layer: l, flush: l.Flush,
		queued: func() int { return l.Stats().Queued }, stats: func() string { return fmt.Sprintf("%+v", l.Stats()) }}
}

// newDatadogLayer is storage's companion in the strata row of DatadogSpan.
func newDatadogLayer(tb testing.TB, url string) exportLayer {
	tb.Helper()
	l, err := datadog.New(datadog.WithAgentURL(url), datadog.WithService("bench"), datadog.WithQueueSize(exportQueueSize))
	if err != nil {
		tb.Fatal(err)
	}
	return exportLayer{layer: l, flush: l.Flush,
		queued: func() int { return l.Stats().Queued }, stats: func() string { return fmt.Sprintf("%+v", l.Stats()) }}
}

// The strata row of JaegerSpan delivers every span to its UDP socket.
func TestJaegerSpanStrataRowDeliversEverySpan(t *testing.T) {
	var strata jaegerSeen
	sink := startJaegerSink(t, strata.keep)
	strataExportN(t, newJaegerLayer(t, sink.addr), fairSpans)
	strata.check(t, "strata", sink, fairSpans)
}

// The strata row of DatadogSpan delivers every span to the agent (the dd_trace_go row:
// exporters_ddtrace_test.go).
func TestDatadogSpanStrataRowDeliversEverySpan(t *testing.T) {
	var strata ddSpans
	agent := startDDAgent(t, strata.keep)
	strataExportN(t, newDatadogLayer(t, agent.url), fairSpans)
	ddCheckSpans(t, "strata", agent, &strata, fairSpans)
}
