// Package otlp is the layer that exports spans over OTLP, the OpenTelemetry protocol, to
// anything that receives it: an OpenTelemetry Collector, Jaeger v2, Grafana Tempo, or a
// vendor's endpoint. It sends over gRPC (TraceService/Export) or HTTP/protobuf (POST
// /v1/traces), optionally gzip-compressed.
//
//	exp, err := otlp.FromEnv(otlp.WithService("songs"))
//	if err != nil { ... }                       // a bad option or variable, named
//	d := subscriber.MustNew(storage.New(), logfmt.New(os.Stderr), exp)
//	defer d.Shutdown(ctx)                        // delivers the queue, stops the goroutine
//
// Compose it after storage. It can carry a filter of its own (subscriber.WithFilter): it
// then exports the spans the filter keeps, a span's parent being its nearest exported
// ancestor.
//
// # Configuration
//
// In code, with the With* options of [New]; from the environment with [FromEnv], which
// reads the variables of the OpenTelemetry specification (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, _PROTOCOL, _COMPRESSION, _INSECURE,
// _TIMEOUT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; see [FromEnv]) and lets
// explicit options win. Without configuration spans go over plaintext gRPC to
// localhost:4317, the specification's default. A malformed option or variable is an
// error that names it; New never connects, so a collector that is down does not fail it.
//
// # What is exported, and how
//
// Every request holds one ResourceSpans. Its resource carries service.name
// ([WithService], OTEL_SERVICE_NAME, else "unknown_service:<executable>"),
// telemetry.sdk.name "strata", telemetry.sdk.language "go", telemetry.sdk.version
// [SDKVersion], and the attributes of [WithResource] and OTEL_RESOURCE_ATTRIBUTES. Spans
// are grouped in one ScopeSpans per target: the scope's name is the tracer's target
// ("songs/db").
//
// Each span closed becomes an OTLP span:
//
//   - trace_id: the 16 bytes of the span's trace id, the id logfmt prints as trace_id,
//     so that the trace a log line names is the trace a reader shows. A trace continued
//     from upstream in another form than 128-bit hex (some SkyWalking agents' ids) is
//     mapped deterministically, and the original id is kept in the attribute
//     strata.trace_id.original;
//   - span_id: the span's 64-bit id, big-endian; parent_span_id: the nearest exported
//     ancestor, the ended parent of a span started from its ctx, or the upstream span of
//     a span continuing a remote trace (whose flags then say the parent is remote);
//     empty for a root;
//   - name (or an otel.name field), kind from otel.kind (server, client, producer,
//     consumer, internal; none is INTERNAL, as the SDKs do), start and end times;
//   - status: ERROR with the error's text for a span ended with EndErr, with an error
//     field (also from an event inside it) or otel.status_code=ERROR (whose
//     otel.status_message wins); OK for otel.status_code=OK; otherwise UNSET;
//   - attributes: the span's own fields, but the internal ones (otel.*, metric_*);
//   - events: each event logged inside the span, at most 128 (the rest counted in
//     dropped_events_count), named by its message, with its fields and a "level"
//     attribute ("INFO", "ERROR", ...) unless it has a field of that name;
//   - links: the spans it follows from (Span.FollowsFrom, and the caller of Tracer.Go).
//
// Attribute values are typed from the field's slog kind: String as string_value; Int64
// as int_value; Uint64 as int_value, or as decimal string_value above the largest int64;
// Float64 as double_value; Bool as bool_value; Duration as int_value in nanoseconds (as
// the OpenTelemetry slog bridge does); Time as string_value in RFC 3339 with
// nanoseconds; anything else (errors, structs, groups) as its text. Invalid UTF-8 in any
// text is replaced with U+FFFD: protobuf strings must be UTF-8, and one bad field must
// not lose a batch.
//
// # Delivery
//
// Closed spans go to a bounded queue ([WithQueueSize]) that never blocks a span's End;
// one goroutine encodes them on its own time, in batches ([WithBatchSize],
// [WithFlushInterval]), and sends each with a deadline ([WithTimeout]). A request that
// fails with a code the OTLP specification retries (gRPC CANCELLED, DEADLINE_EXCEEDED,
// ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, RESOURCE_EXHAUSTED with RetryInfo; HTTP
// 429, 502, 503, 504, or no answer at all) is sent again after an exponential backoff
// with jitter, while new spans queue up; any other failure loses the batch. A collector
// that accepts a request but rejects some of its spans (partial_success) has them
// counted and logged.
//
// # What is counted
//
// [Layer.Stats] accounts for every span closed: sent, dropped (queue full, or after
// Shutdown), failed (lost in flight or at Shutdown's deadline), or still queued; and the
// retries, the events beyond the per-span limit, and the spans a collector rejected.
// [Layer.Gauges] publishes them as strata_otlp_* series for the metrics layer. Errors go
// to [WithLogf], at most one line per kind every 30 seconds.
package otlp
