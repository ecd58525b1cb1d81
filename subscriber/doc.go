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
//	subscriber.SetDefault(d)
//	defer func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//		defer cancel()
//		_ = d.Shutdown(ctx) // flushes what layers buffer; returns by the deadline
//	}()
//
// A filter decides which spans and events a layer sees ([WithFilter]); each layer can have
// its own, and a layer whose filter rejects a span sees none of that span's hooks while the
// other layers see all of them. A [GlobalFilter] composed among the layers filters for all
// of them, like tracing-subscriber's EnvFilter on the registry. The filter package
// (layers/filter) has level filters, env-filter directives ("info,songs/db=debug") and
// reloadable filters.
//
// Two kinds of layer want spans by something other than a filter. A layer that only
// serves others ([Serving]: storage) sees exactly what at least one other layer enabled,
// so composing it unfiltered costs nothing for calls the others reject. A layer that
// wants calls for their fields ([FieldWanter]: metrics wants spans with metric_* fields)
// sees those at any level and nothing else.
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
// With the README's composition (storage and metrics unfiltered, logfmt filtered at
// INFO), a DEBUG span or event costs the level check, a look at the tracer's cached
// target levels and a scan of its field keys for the prefixes the metrics layer wants,
// and allocates nothing. A layer's location (the caller's PC) is captured only for
// events a layer that prints locations enabled.
//
// # Guarantees
//
//   - No layer sees a span hook (OnRecord, OnEnter, OnExit, OnFollowsFrom) after that
//     span's OnClose: End waits for such a hook already running. Hooks must therefore
//     not call Record, Enter, Exit or End on the span they were given.
//   - An event may race the End of its span. OnEvent then either runs before End began,
//     or sees ev.Span.Closed() report true, or (once the span's record is gone) sees the
//     zero ev.Span with the trace id still in ev.TraceID.
//   - A panic in a filter or a layer reaches the caller (net/http recovers a handler's
//     panic), and leaks nothing: every record is released and the live count returns to
//     zero. A panic in one layer's OnClose does not keep the later layers from theirs; a
//     panic in OnNewSpan closes the span for the layers that saw it start.
//   - A span started from the ctx of a span that has already ended keeps the trace and
//     its parent's id ([SpanRef.ParentID]), and layers can tell it from a root
//     ([SpanRef.ParentEnded]).
//   - [Dispatch.Shutdown] returns by ctx's deadline, naming the layers that had not
//     finished.
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
