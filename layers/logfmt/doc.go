// Package logfmt is the layer that writes structured logfmt lines: one for each event,
// and one when a span starts and ends, each carrying the fields the [storage] layer
// keeps for the span, own and inherited. It is the output of the article Strata grew
// from:
//
//	level=INFO span_name="HTTP request" span=9008298766368774 span_event=new_span timestamp=2022-10-30T22:30:28.798564Z trace_id=b2b32ad7414392aedde4177572b3fea3 http.method=POST http.route=/songs
//	level=INFO msg="finished processing vendor request" vendor.status=200 subject=vendor.lastfm http.route=/songs target=songs/vendor location=vendor/client.go:354 timestamp=2022-10-31T02:45:30.683888Z span=452612587184455697 trace_id=c53cb20e4ab4fa42aa5836d26e974de2
//	level=INFO span_name=vendor.lastfm.task span=452612587184455697 parent_span=9008298766368774 span_event=close_span timestamp=2022-10-31T12:35:36.931975Z trace_id=c53cb20e4ab4fa42aa5836d26e974de2 latency_ms=18 subject=vendor.lastfm http.route=/songs
//
// # Composing
//
// Put storage first: the logfmt layer reads span fields through storage's read API.
//
//	d := subscriber.MustNew(storage.New(), logfmt.New(os.Stderr))
//	subscriber.SetDefault(d)
//	defer d.Shutdown(context.Background())
//
// Without storage the layer still works, and span lines carry only a span's own fields.
//
// # Lines
//
// A span line has level, span_name, span, parent_span (left out for a root), span_event
// (new_span or close_span), timestamp, trace_id, latency_ms (close_span only), and then
// the span's stored fields in the order [storage.Range] gives: nearest first, the span's
// own fields, then its parent's, and so on up to the root, each key once with its
// nearest value.
//
// An event line has level, msg, the event's fields, the stored fields of the span it
// happened in (an event field hides a stored field with the same key), target,
// location (file:line, the file's last two path elements), timestamp, span and
// trace_id. Ids are decimal span ids and 32-hex-digit trace ids; timestamps are UTC
// with microseconds.
//
// Every line decodes with a logfmt decoder (go-logfmt's, in this package's tests and
// fuzzing), whatever the keys and values hold: invalid keys are made valid ('_' for
// each bad byte, "_" for an empty key; a key equal to one of the layer's own keys is
// written as "fields.<key>"), values are quoted and escaped when needed. Valid UTF-8
// values decode to exactly what was logged; invalid bytes decode as U+FFFD.
//
// A line never holds a key twice. Keys are compared as written: "a b" and "a_b" are
// one key, and so are "level" (written fields.level) and "fields.level". The first
// occurrence on the line wins and later ones are left out: an event's fields in the
// order given come first, then the span's own fields, then its parent's, up to the
// root.
//
// # Options
//
// [WithSpanEvents] chooses the span lines, [WithTimeFormat] the timestamp layout,
// [WithoutLocation], [WithoutTimestamp] and [WithoutKeys] leave keys out (handy for
// deterministic output in tests). [WithDatadog] adds Datadog's log correlation keys
// (dd.trace_id, dd.span_id, dd.service, dd.env, dd.version); fields with those keys are
// written as fields.<key>.
//
// # Writers
//
// The layer makes one Write call per line. For a destination that may be slow, wrap it
// in an [AsyncWriter]: a bounded queue and one goroutine, lossy by default with an
// exact count of dropped lines, blocking on request. By default the queue holds
// 128,000 lines and 16 MiB, whichever comes first (its memory stays within the byte
// bound plus 128 KiB and a 4-byte index per line); the goroutine writes many whole
// lines per Write call to the destination, and its Close gives up at ctx's deadline
// and says how many lines were not delivered. To send errors to a second
// destination as well, use a [LevelRouter]. The layer's Flush and Shutdown (called by
// the dispatch's) flush and close such writers.
//
// # Cost
//
// A span's stored fields are encoded once per span (and again only when a field
// visible to it changes) and copied into each of its lines. A span's encoding holds its
// own fields and links to its parent's instead of copying them, so a line costs what
// it writes at any depth, and a chain whose levels repeat the same keys costs the same
// at depth 100 as at depth 1. Line buffers are pooled: an event written to io.Discard
// allocates nothing in steady state. Capturing the caller for location is the most
// expensive part of an event; [WithoutLocation] saves it.
package logfmt
