// Package bench holds Strata's benchmarks against peer libraries (the OpenTelemetry SDK,
// go2sky, jaeger-client-go, dd-trace-go, zerolog, zap, slog and VictoriaMetrics used
// directly), measured in one run. Names are Benchmark<Case>/<library>, so that
// benchstat puts each peer on a row of the case's table. See RESULTS.md for the
// figures and the command that produced them (run.sh).
//
// Cases, by file:
//
//	core_test.go      disabled by level / by target (spans, events, 0 and 2 fields);
//	                  span start+end through the registry alone; an event with 5 fields
//	                  to a do-nothing layer; their Parallel variants
//	readme_test.go    the README composition (storage, logfmt behind STRATA_LOG=info,
//	                  metrics; locations on; AsyncWriter or sync writer) rejecting a DEBUG
//	                  span and a DEBUG event with 0 and 2 fields, beside every layer
//	                  filtered at info, the OpenTelemetry no-op tracer, slog, zerolog, zap
//	                  (BenchmarkReadmeDisabled*)
//	request_test.go   a request (root with 4 fields, two children with 2, one event with
//	                  3) through the README stack (sync and AsyncWriter) against the
//	                  OpenTelemetry SDK + zap, the SDK + slog JSON, and zerolog writing
//	                  the same lines; wall and CPU time (BenchmarkRequest, ...Parallel)
//	depth_test.go     a span at depth 1, 8, 32, 128 with 5 fields per level, unique and
//	                  repeated keys, storage + logfmt against zerolog writing the same
//	                  lines and the SDK (BenchmarkDepthUniqueKeys, ...RepeatedKeys)
//	memory_test.go    heap retained per open span, 10,000 open spans, README composition
//	                  against the SDK (BenchmarkOpenSpanMemory: B/span, objs/span)
//	logfmt_test.go    an event with 5 fields in a span with 5 inherited, logfmt against
//	                  zerolog, zap, slog (with and without caller; the README stack);
//	                  span open/close lines; storage inheritance
//	metrics_test.go   derived metrics at close against VictoriaMetrics (formatted name
//	                  per call, and handles made once); the metrics layer's whole
//	                  per-span cost (BenchmarkMetricsWholePerSpan)
//	skywalking_test.go  the sw8 codec against go2sky (BenchmarkSW8Encode, ...Decode); a
//	                  span through storage + the SkyWalking layer (to a collector on
//	                  127.0.0.1 that discards, and to one nobody listens on) against
//	                  the SDK with a batch processor and go2sky with a reporter that
//	                  does nothing (BenchmarkSkyWalkingSpan); the request exported to
//	                  SkyWalking against go2sky + zap and the SDK + zap
//	                  (BenchmarkRequestSkyWalking)
//	fullstack_test.go the same request through the full stack: the README composition
//	                  (storage, logfmt at info with a sync writer or the AsyncWriter,
//	                  metrics) plus the SkyWalking layer exporting through its queue to a
//	                  discarding exporter (WithSegmentExporter), against the OpenTelemetry
//	                  SDK (batch) + zap and go2sky (no-op reporter) + zerolog, each with
//	                  the same metric through VictoriaMetrics; wall and CPU time, drop-%
//	                  (BenchmarkFullStack)
//	exporters_test.go a root span with 2 attributes exported over loopback to a peer
//	                  that receives and discards it: storage + the otlp layer against the
//	                  SDK's batch processor + otlptracegrpc (BenchmarkOTLPSpan); storage +
//	                  the jaeger layer against jaeger-client-go's remote reporter and the
//	                  SDK over OTLP (BenchmarkJaegerSpan); storage + the datadog layer
//	                  against dd-trace-go v2 (BenchmarkDatadogSpan); wall and CPU time,
//	                  drop-% counted at the peer (the Jaeger and Datadog layers' rows in
//	                  exporters_layers_test.go, dd-trace-go's in exporters_ddtrace_test.go)
//
// Helpers: cpu_test.go (cpu-ns/op: process CPU time over the loop, background goroutines
// flushed inside it; drop-% for the AsyncWriter), zerolines_test.go (zerolog writing
// Strata's logfmt lines). fairness_test.go checks that each Strata row and its peer
// write the same content: the same lines with the same keys and values for zerolog, the
// same spans, attributes, event fields and metric series for the OpenTelemetry peers;
// skywalking_fairness_test.go the same sw8 text, and the same exported spans, tags and
// logs for go2sky; fullstack_fairness_test.go that the full-stack rows export the same
// spans, tags and span logs, write the event with its fields and its span's ids, and
// update the same metric series; exporters_fairness_test.go that every exporter row's
// spans reach its peer, decoded there, with the same name, attributes and service.
package bench
