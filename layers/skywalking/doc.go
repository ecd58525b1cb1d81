// Package skywalking is the layer that exports spans to Apache SkyWalking: it assembles
// them into trace segments, sends the segments to an OAP (or anything speaking its gRPC
// protocol) in batches, reports the instance and its heartbeat, and carries traces across
// processes in sw8 headers.
//
//	sw, err := skywalking.FromEnv(skywalking.WithService("songs"))
//	if err != nil { ... }                       // a bad option or variable, named
//	d := subscriber.MustNew(storage.New(), sw)
//	defer d.Shutdown(ctx)                        // flushes the queue, stops the goroutines
//
// # Segments
//
// A segment is the spans of one trace in this process under one local root: a span with
// no in-process parent, or one continuing a remote parent. Its spans are numbered from 0
// in the order they started, the first one's parent is -1, times are milliseconds, and
// the segment is queued when its last span ends. Segment ids are 32 random lowercase hex
// characters; the trace id is the span's ([registry.TraceID] text), which for a
// continued trace is the caller's id exactly as received.
//
// Each span's own fields decide its form:
//
//   - type from otel.kind: server and consumer are Entry spans, client and producer Exit
//     spans, anything else Local;
//   - layer: db.system is Database, cache.* Cache, messaging.system MQ, rpc.system
//     RPCFramework, http.* Http (in that order when several are present);
//   - component: 5004 (Go HTTP server) for an Http entry, 5005 (Go HTTP client) for an
//     Http exit, 23 for rpc.system=grpc; [WithComponent] changes them and adds rules for
//     other fields, and an integer field sw.component sets a span's own;
//   - peer, on Exit spans: the peer field, else server.address[:server.port], else
//     net.peer.name[:net.peer.port];
//   - operation name: the span name, or an otel.name field (also when recorded later);
//   - tags: every own field as a string, except metric_*, otel.*, peer and sw.component;
//   - isError: the span ended with EndErr, has an error field naming an error (also from
//     an event inside it), has otel.status_code=ERROR, or is an Entry span with
//     http.status_code of 500 or more;
//   - logs: each event inside the span, as event=<level>, message=<msg> and its fields
//     (at most 128 per span).
//
// Inherited fields are not copied: a span's tags are its own.
//
// # Spans that outlive their segment
//
// A goroutine often outlives the request that started it. The layer does not hold a
// segment for it forever, and starts no goroutine per span or segment: one sweeper per
// layer wakes a few times per linger ([WithLinger], 10s by default). A segment whose
// first span ended a linger ago is reported with the spans that ended; each span still
// open then moves, with the spans under it, to a new segment whose first span refers to
// its parent with a CrossThread reference, reported when its own spans end.
//
// A span started after its parent's segment was reported goes out in a new segment with
// a CrossThread reference to the parent, also when the parent's record is already gone
// (a span started from the ctx of an ended span): the layer remembers the segments of
// the 8192 most recent span ends in a table indexed by span id, which costs one atomic
// store per span. A parent no longer remembered leaves the new segment without a
// reference (counted in Stats.Unlinked).
//
// Memory is bounded: at most [WithMaxOpenSegments] segments are assembled at once and a
// segment holds at most [WithMaxSpansPerSegment] spans; what is beyond is not exported,
// and counted ([Layer.Stats]).
//
// # Propagation
//
// The layer is a [subscriber.Propagator]. Extract reads sw8 (and sw8-correlation: at most
// 3 keys, values under 128 bytes); a span continuing it carries a CrossProcess reference
// to the caller's exit span. A malformed header never fails the request: it is counted
// and the span starts a new trace. Inject writes sw8 for the span the ctx carries: its
// segment and span id, this service and instance, the segment's endpoint (the operation
// name of its first entry span, else of its first span) and the span's peer as the
// address used; and the correlation the trace brought. A remote parent from another
// propagator (layers/w3c) continues the trace id with no reference. [DecodeSW8],
// [SW8.Encode] and [AppendSW8] are the codec, one allocation each way (none to append).
//
// # Delivery
//
// Finished segments go to a bounded queue ([WithQueueSize]) that never blocks a span's
// End; one goroutine sends them in batches on the collector's collect stream, reconnects
// with backoff, and drops and counts what does not fit. The instance properties
// (hostname, ipv4, OS name, process number, language go) are sent on every (re)connect
// and keepAlive on each heartbeat. [WithSegmentExporter] hands the batches to a function
// instead of the collector (a custom transport, or a test), through the same queue. Once
// a batch is delivered (or failed), the memory of its segments is reused for later
// ones. [Layer.Shutdown] (or the dispatch's) reports what
// waits for late spans, delivers the queue within its ctx and says what was lost;
// [Layer.Stats] and [Layer.Gauges] count everything.
//
// # Logs
//
// Events, from the tracer's Info, Warn, ... and from the slog bridge alike, also go to
// the collector's LogReportService as log records, through a bounded queue of their
// own ([WithLogQueueSize]) on the same connection: the service, instance and layer, the
// event's time in milliseconds, the message as a text body (a JSON object of the
// message and fields with [WithLogJSONBody]), tags level, target and the event's fields
// as strings, and, for an event inside a span the layer exports, the trace context
// (trace id, the id of the segment that carries the span, the span's id in it) and the
// segment's endpoint. An event outside such a span has no trace context. Which events
// become log records is [WithLogFilter]'s to decide: WARN and above by default
// ([DefaultLogFilter]), any [subscriber.Filter] (directives of layers/filter included)
// otherwise. It does not change the span logs. A per-layer filter attached to the whole
// layer with subscriber.WithFilter comes first: events it rejects never reach the layer.
//
// # Meters
//
// With [WithMeters], the layer reports the series of a metrics layer
// (github.com/strata-go/strata/layers/metrics, read through its Visit) to the
// MeterReportService every period (20s by default) and once more at Shutdown: counters
// and gauges as single values with their labels, histograms as buckets keyed by their
// lower bounds, the first one from negative infinity, as the protocol defines them. The
// application's own counters, gauge functions and histograms (the metrics layer's
// NewCounter, NewGaugeFunc and NewHistogram) go both to /metrics and to SkyWalking from
// one registration.
//
// # Instance properties
//
// The instance reports hostname, ipv4, OS Name, Process No. and language on every
// (re)connect; [Layer.SetProperty] and [Layer.RemoveProperty] change them (the
// predefined ones too) and have them reported again at once. keepAlive goes every
// heartbeat ([WithHeartbeat]). Every call carries the [WithAuthentication] token.
//
// # Configuration
//
// [New] takes options; [FromEnv] first reads the variables SkyWalking agents read
// (SW_AGENT_NAME, SW_AGENT_INSTANCE_NAME, SW_AGENT_COLLECTOR_BACKEND_SERVICES,
// SW_AGENT_AUTHENTICATION, SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD in seconds,
// SW_AGENT_LAYER), and explicit options win. The service defaults to the executable's
// name and the instance to pid@hostname. A collector address is required, unless
// [WithSegmentExporter] hands the segments to a function of the application's instead
// (a custom transport, or a test).
package skywalking
