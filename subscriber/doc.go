// Package subscriber is the core of Strata: it composes layers, dispatches every span and
// event to them, and is the API that instrumented code calls.
//
// # Concepts, in order
//
// A span is a unit of work with a start, an end and fields: an HTTP request, a database
// query, a task. Spans nest: a span started from a ctx that carries another span is its
// child, and shares its trace id. An event is a point in time with a message and fields
// (a log line), and belongs to the span its ctx carries.
//
// A layer observes spans and events through hooks (OnNewSpan, OnRecord, OnEvent,
// OnClose, ...; see [Layer]). Strata ships layers for contextual fields (storage),
// logfmt lines, Prometheus metrics derived from spans, and SkyWalking export. A layer
// implements only the hooks it needs.
//
// A [Dispatch] is a composition of layers, built once in main:
//
//	d, err := subscriber.New(
//		storage.New(),                          // first: others read its fields
//		subscriber.WithFilter(logfmt.New(os.Stderr), directives),
//		metrics.New(),
//	)
//	if err != nil { ... }
//	defer d.Shutdown(context.Background())
//	subscriber.SetDefault(d)
//
// A filter decides which spans and events a layer sees ([WithFilter]); each layer can have
// its own, and a layer whose filter rejects a span sees none of that span's hooks while the
// other layers see all of them. The filter package (layers/filter) has level filters,
// env-filter directives ("info,songs/db=debug") and reloadable filters.
//
// # Instrumenting code
//
// Code gets a [Tracer] per package, named by a target that filters match:
//
//	var tr = subscriber.NewTracer("songs/db")
//
//	func (s *Store) Insert(ctx context.Context, song Song) error {
//		ctx, span := tr.Start(ctx, "db.insert", slog.String("db.system", "postgresql"))
//		defer span.End()
//		...
//		tr.Debug(ctx, "inserted", slog.Int64("id", id))
//	}
//
// Fields are [log/slog] attributes: slog.String, slog.Int, slog.Any and the rest;
// [slog.LogValuer] values are resolved and groups flatten to dotted keys ("http" group with
// "method" becomes "http.method"). [Tracer.Do] wraps a function in a span and records its
// error; [Tracer.Go] starts asynchronous work in a span that follows from the caller's.
// [Span.EndErr] ends a span with an error: it is recorded as the field "error" and the span
// counts as failed. Existing slog call sites become events with [NewSlogHandler].
//
// # Costs
//
// A span or event that no layer wants is rejected before any value is built or any memory
// allocated: first by the dispatch's level floor (the most verbose level any layer's
// filter can enable, see [LevelHinter]), then by what the filters said about the tracer's
// target, cached in the Tracer (see [TargetHinter] and [RebuildInterest]). An enabled
// span allocates one object, the ctx that carries it; its record comes from a pool and its
// handle is generation-checked, so a Span kept after End can never touch a reused record.
// [Span.End] is idempotent and safe from any goroutine.
//
// # Across processes
//
// Layers that implement [Propagator] carry a trace across processes: [Dispatch.Extract]
// reads a remote parent from a [Carrier] (HTTP headers, gRPC metadata) and [Dispatch.Inject]
// writes the current span into one. A malformed header never fails a request: the span
// just starts a new trace. A continued trace keeps the upstream trace id byte for byte.
//
// # Writing a layer
//
// Hooks receive a [SpanRef], valid during the call. A layer keeps per-span data in a typed
// slot of the registry (registry.NewSlot), pooled with the span's record, and reads other
// layers' data only through their exported read functions. Hooks run concurrently, even
// for one span. The subscriber/expect package has a test layer that checks the hooks a
// layer sees, in order.
package subscriber
