package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/jaeger"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/otlp"
	"github.com/strata-go/strata/layers/w3c"
	"github.com/strata-go/strata/subscriber"
)

// spanExporters are the exporters besides SkyWalking that the environment turns on, with
// their self-metrics and the logfmt options they ask for.
type spanExporters struct {
	layers []subscriber.Layer
	gauges map[string]func() float64
	logfmt []logfmt.Option
}

// exportersFromEnv composes an exporter for each backend the environment names, the way
// each backend's own SDKs read it:
//
//   - OTLP (an OpenTelemetry Collector, Jaeger v2, Grafana Tempo) when
//     OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set;
//   - Jaeger's agent (Thrift over UDP) when OTEL_EXPORTER_JAEGER_AGENT_HOST or
//     JAEGER_AGENT_HOST is set;
//   - the Datadog Agent when DD_AGENT_HOST or DD_TRACE_AGENT_URL is set; the log lines
//     then carry dd.trace_id and dd.span_id, so that Datadog joins them to the traces.
//
// With OTLP or Jaeger, W3C traceparent headers carry the trace across HTTP calls. The
// service is "songs" unless OTEL_SERVICE_NAME or DD_SERVICE says otherwise. Each line
// about what is exported goes to msgs.
func exportersFromEnv(msgs io.Writer) (*spanExporters, error) {
	x := &spanExporters{gauges: map[string]func() float64{}}
	w3cNeeded := false
	if os.Getenv(otlp.EnvEndpoint) != "" || os.Getenv(otlp.EnvTracesEndpoint) != "" {
		var opts []otlp.Option
		if os.Getenv(otlp.EnvServiceName) == "" {
			opts = append(opts, otlp.WithService("songs"))
		}
		l, err := otlp.FromEnv(opts...)
		if err != nil {
			return nil, err
		}
		x.layers = append(x.layers, l)
		maps.Copy(x.gauges, l.Gauges())
		w3cNeeded = true
		fmt.Fprintln(msgs, "songs: exporting traces over OTLP")
	}
	if os.Getenv(jaeger.EnvAgentHost) != "" || os.Getenv(jaeger.EnvJaegerAgentHost) != "" {
		var opts []jaeger.Option
		if os.Getenv(jaeger.EnvServiceName) == "" && os.Getenv(jaeger.EnvJaegerServiceName) == "" {
			opts = append(opts, jaeger.WithService("songs"))
		}
		l, err := jaeger.FromEnv(opts...)
		if err != nil {
			x.shutdownOnError()
			return nil, err
		}
		x.layers = append(x.layers, l)
		maps.Copy(x.gauges, l.Gauges())
		w3cNeeded = true
		fmt.Fprintln(msgs, "songs: exporting traces to the Jaeger agent")
	}
	if os.Getenv(datadog.EnvAgentHost) != "" || os.Getenv(datadog.EnvAgentURL) != "" {
		service := os.Getenv(datadog.EnvService)
		var opts []datadog.Option
		if service == "" {
			service = "songs"
			opts = append(opts, datadog.WithService(service))
		}
		l, err := datadog.FromEnv(opts...)
		if err != nil {
			x.shutdownOnError()
			return nil, err
		}
		x.layers = append(x.layers, l) // also propagates x-datadog-* headers
		maps.Copy(x.gauges, l.Gauges())
		x.logfmt = append(x.logfmt, logfmt.WithDatadog(service, os.Getenv(datadog.EnvEnv), os.Getenv(datadog.EnvVersion)))
		fmt.Fprintln(msgs, "songs: exporting traces to the Datadog Agent")
	}
	if w3cNeeded {
		x.layers = append(x.layers, w3c.New())
	}
	return x, nil
}

// shutdownOnError stops the exporters made so far, when a later one fails to build.
func (x *spanExporters) shutdownOnError() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, l := range x.layers {
		if s, ok := l.(interface{ Shutdown(context.Context) error }); ok {
			_ = s.Shutdown(ctx)
		}
	}
}
