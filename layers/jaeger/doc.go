// Package jaeger is the layer that exports spans to Jaeger the way the Jaeger clients
// did: each closed span becomes a Thrift jaeger.Span, and batches of them go, with the
// service's Process, as Thrift compact emitBatch calls in UDP datagrams to the agent's
// port 6831. A Jaeger agent, Jaeger v1's all-in-one, and an OpenTelemetry Collector
// with the jaeger receiver's thrift_compact protocol all read them.
//
//	jl, err := jaeger.FromEnv(jaeger.WithService("songs"))
//	if err != nil { ... }                       // a bad option or variable, named
//	d := subscriber.MustNew(storage.New(), jl)
//	defer d.Shutdown(ctx)                        // sends the queue, stops the goroutine
//
// # Spans
//
// Every span the layer sees (a per-layer filter chooses them, as for any layer) is
// written as a jaeger.Span:
//
//   - ids: the 128-bit trace id split in TraceIdHigh and TraceIdLow (big-endian
//     halves), so that the trace id Jaeger shows is the trace_id the logfmt layer
//     prints; a trace continued from an upstream id that is not 128-bit hex is mapped
//     by spanexport.TraceID128's documented rule and keeps the original in the tag
//     strata.trace_id.original. SpanId is the span's 64-bit id, ParentSpanId its
//     parent's (the nearest ancestor the layer saw, or the remote caller's span for a
//     span continuing a trace from another process), 0 for a root;
//   - references: CHILD_OF the parent (remote ones too) and FOLLOWS_FROM each span it
//     follows from (Span.FollowsFrom, Tracer.Go);
//   - operation name: the span's name, or its otel.name field; flags: sampled;
//   - start time and duration in microseconds;
//   - tags: the span's own fields but the internal otel.* and metric_* ones, typed
//     from the field's kind: strings STRING, integers LONG (an unsigned one above
//     MaxInt64 as its decimal STRING), floats DOUBLE, booleans BOOL, durations STRING
//     in Go's form ("1.5s"), times STRING in RFC 3339 with nanoseconds, anything else
//     its text. Beside them: span.kind from otel.kind (server, client, producer,
//     consumer, internal); otel.scope.name, the tracer's target; for a failed span
//     error=true (BOOL), otel.status_code=ERROR and otel.status_description with the
//     error's text, the conventions Jaeger's UI and the OpenTelemetry Collector's
//     Jaeger translator read (a span's own error field is that description, and is
//     not written again as a string error tag); otel.status_code=OK for a span whose
//     otel.status_code field says so; strata.dropped_events, the events beyond 128;
//   - logs: each event logged inside the span, at its time in microseconds, with the
//     fields event (the message), level and the event's own fields, typed as above.
//
// Inherited fields are not copied: a span's tags are its own.
//
// # Datagrams
//
// Each datagram is one emitBatch message (Thrift compact protocol, ONEWAY) holding a
// jaeger.Batch: the Process, as many spans as fit, a sequence number and the client
// stats Jaeger agents report (spans dropped for a full queue, for their size, and
// failed to send), and never more than [WithMaxPacketSize] bytes (65000 by default,
// what agents read). A send packs the spans of a batch into as few datagrams as
// they need. A span that does not fit in a datagram on its own is truncated: first
// its logs go, then its tags (but span.kind and error), and it carries
// strata.truncated=true (counted in Stats.Truncated); if even its ids, name, times
// and references do not fit (a name of tens of kilobytes), it is dropped, counted in
// Stats.TooLarge and Stats.Failed, and logged. A datagram is never cut or malformed.
//
// # Delivery
//
// Closed spans go to a bounded queue ([WithQueueSize]) that never blocks a span's End;
// one goroutine sends them in batches ([WithBatchSize], [WithFlushInterval]) over a
// UDP socket connected once, by [New], which resolves the agent's host then (a name
// that does not resolve is New's error; a later change of the address it names is
// not followed). UDP has no acknowledgement: a span counts as sent once the socket
// took its datagram. When no agent listens, the host answers with ICMP "port
// unreachable" and the socket reports "connection refused" on the next write: that
// datagram's spans count as failed, and nothing is retried, so a missing agent costs
// a failed write per datagram and a log line every 30 seconds, never memory or a
// blocked goroutine. What the queue cannot take is dropped and counted. Nothing is
// dropped silently: [Layer.Stats] and [Layer.Gauges] (series strata_jaeger_*) count
// every span as sent, dropped or failed, and the truncated, too large ones and the
// datagrams. [Layer.Flush] sends what is queued; [Layer.Shutdown] (or the dispatch's)
// sends it within its ctx, stops the goroutine, closes the socket and says what was
// lost.
//
// # Process
//
// The Process carries the service name ([WithService]; the executable's name by
// default) and tags: hostname, ip (the first non-loopback IPv4 address) and
// jaeger.version=Go-strata-<module version>, as the Jaeger clients report them, then
// those of OTEL_RESOURCE_ATTRIBUTES, JAEGER_TAGS and [WithTags], a later one replacing
// an earlier one with the same key.
//
// # Configuration
//
// [New] takes options; [FromEnv] first reads these variables, and explicit options
// win:
//
//   - OTEL_EXPORTER_JAEGER_AGENT_HOST, OTEL_EXPORTER_JAEGER_AGENT_PORT: the agent
//     (default localhost and 6831); JAEGER_AGENT_HOST and JAEGER_AGENT_PORT, the
//     jaeger-client-go names, when the OTEL_* ones are not set;
//   - OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else
//     JAEGER_SERVICE_NAME: the service name;
//   - OTEL_RESOURCE_ATTRIBUTES (key=value pairs separated by commas, values
//     percent-encoded) and JAEGER_TAGS (key=value pairs separated by commas): process
//     tags, as strings;
//   - JAEGER_REPORTER_MAX_QUEUE_SIZE and JAEGER_REPORTER_FLUSH_INTERVAL (a Go
//     duration such as 1s): the queue size and flush interval.
//
// Neither the OpenTelemetry specification nor the Jaeger clients define a variable for
// the packet size: [WithMaxPacketSize] sets it. A malformed value is FromEnv's error,
// naming the variable.
package jaeger
