// Package datadog exports spans to the Datadog Agent and carries traces across
// processes in Datadog's headers, so that Strata services appear in Datadog APM next to
// services instrumented with Datadog's own tracers.
//
// # Composition
//
// Compose the layer after storage, usually with the logfmt layer's
// logfmt.WithDatadog option, which puts dd.trace_id and dd.span_id on log lines so that
// Datadog joins logs to traces:
//
//	dd, err := datadog.FromEnv(datadog.WithService("songs"))
//	if err != nil { ... }
//	d, err := subscriber.New(
//		storage.New(),
//		logfmt.New(os.Stderr, logfmt.WithDatadog("songs", "prod", "1.4.2")),
//		dd,
//	)
//	defer d.Shutdown(ctx) // sends what is queued, within ctx's deadline
//
// The Layer is also a [subscriber.Propagator]: instrument/nethttp and instrument/grpctrace
// then read and write x-datadog-* headers. [Propagator] is the propagation alone, for
// services that pass Datadog traces on but export elsewhere.
//
// # Configuration
//
// In code: [WithAgentURL] ("http://host:8126" or "unix:///var/run/datadog/apm.socket";
// default http://localhost:8126), [WithService] (default: the executable's name),
// [WithEnv], [WithVersion], [WithQueueSize], [WithBatchSize], [WithFlushInterval],
// [WithTimeout] and [WithLogf]. [FromEnv] reads what Datadog's tracers read first:
// DD_TRACE_AGENT_URL, or DD_AGENT_HOST and DD_TRACE_AGENT_PORT; DD_SERVICE, DD_ENV and
// DD_VERSION. Explicit options win over the environment; a malformed value is an
// error naming the option or variable.
//
// # What is sent
//
// Every closed span goes to a bounded queue (its close never waits for the network);
// one goroutine sends batches as PUT /v0.4/traces, msgpack, the spans of a batch
// grouped by trace. Each span is a Datadog span:
//
//   - trace_id is the lower 64 bits of the 128-bit trace id that logfmt prints as
//     trace_id, and meta _dd.p.tid the upper 64 bits in hex, on every span, as Datadog's
//     tracers write them: the Agent (and the OpenTelemetry Collector's datadogreceiver)
//     rebuild the 128-bit id. span_id is the Strata span id, parent_id the parent's (the
//     remote parent's for a span that continues a trace from another process; 0 for a
//     root). start and duration are nanoseconds.
//   - name, resource and type follow Datadog's conventions. An HTTP server span
//     (otel.kind=server with http.method or http.request.method) is named
//     "http.request", its resource is "METHOD route" (http.route; without one, the span's
//     own name) and its type "web". An HTTP client span (otel.kind=client) is
//     "http.request" of type "http" with the span's name as resource. A span with
//     db.system keeps its name; its resource is db.statement (or db.query.text), else
//     its name, and its type "sql" for SQL databases, "redis", "mongodb", "cassandra",
//     "elasticsearch", "memcached" for those, "db" for others. messaging.system gives
//     type "queue", rpc.system "rpc". Any other span: name and resource are the span's
//     name, type "custom". The span's Strata name is therefore always its name or its
//     resource.
//   - error is 1 for a failed span (ended with an error, an error field, an error
//     event inside it, or otel.status_code=ERROR). The fields error, error.message,
//     error_msg become meta error.message (else the span's error text), error_stack
//     becomes error.stack, error_type error.type. http_url and url.full become
//     http.url, http_method and http.request.method http.method, http_status_code and
//     http.response.status_code http.status_code.
//   - meta holds the string fields (and bools as "true"/"false", times in RFC 3339,
//     anything else as text, http.status_code as text as Datadog writes it), span.kind,
//     env, version and language=go; metrics the numeric fields,
//     _sampling_priority_v1, _dd.top_level=1 on the service's entry spans (local roots,
//     server and consumer spans) and _dd.agent_psr, the Agent rate applied. Internal
//     fields (otel.*, metric_*) are left out. Span events go as the events tag (JSON),
//     follows-from links as _dd.span_links. When two fields land on one tag (http_method
//     and http.request.method), the first one is kept. Strings that are not valid UTF-8
//     (names, fields, service, env) have their bad bytes replaced by U+FFFD, as the
//     Agent's decoder refuses them.
//
// A batch's traces are in the order of their first span, the spans of a trace in the
// order they ended. Encoding a span allocates nothing (the encoder's buffers are reused
// from batch to batch), nor does sending a request body (each connection copies
// through a buffer of its own).
//
// # Sampling
//
// The Agent answers each payload with sampling rates by service and env; the layer
// keeps the latest rate for its own service and env (else the Agent's default). A
// trace's priority is decided from its trace id alone, as dd-trace-go does it (kept
// when id×1111111111111111111 mod 2^64 is below rate×2^64), so every span of a trace,
// in every service, gets the same answer. A priority received from upstream
// (x-datadog-sampling-priority, or a W3C parent that is not sampled) wins, for every span of
// the trace the layer remembers it for (the last few thousand traces continued). As
// Datadog's tracers do, spans of rejected traces are still sent, with priority 0: the
// Agent counts them in its statistics and drops them; [Stats].SampledOut counts them.
//
// # Propagation
//
// [Propagation.Extract] reads x-datadog-trace-id (decimal), x-datadog-parent-id,
// x-datadog-sampling-priority, x-datadog-origin and the _dd.p.tid of x-datadog-tags;
// the remote parent's trace id is the 128 bits of _dd.p.tid and x-datadog-trace-id,
// so a trace continued from dd-trace-go keeps Datadog's id. Malformed headers never fail
// a request: the span starts a new trace, and [Stats].MalformedHeaders counts them.
// [Propagation.Inject] writes the same headers, with _dd.p.tid and the received _dd.p.*
// tags.
//
// # What is counted
//
// [Layer.Stats] and [Layer.Gauges] (series prefixed strata_datadog, for the metrics
// layer's RegisterGauge): spans closed, sent, dropped (the queue was full: the Agent is
// down or slow), failed (lost in flight, refused by the Agent, or undelivered at
// Shutdown's deadline), queued, retries, events dropped, payloads rejected, spans
// sampled out, rate answers, the current rate and malformed headers. An Agent that
// cannot be reached, or answers 429 or 5xx, gets the same payload again after a
// backoff; other 4xx answers lose the payload, counted. Errors are logged through
// [WithLogf] at most once per kind every 30 seconds.
package datadog
