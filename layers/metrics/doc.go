// Package metrics is the Strata layer that derives Prometheus metrics from spans and
// events, and serves them on a /metrics endpoint.
//
// # Metrics from spans
//
// A span whose own fields hold metric_name=<name> updates two series when it ends:
//
//	<name>_total                 a counter of the spans that ended
//	<name>_duration_seconds      a histogram (with le buckets) of their durations
//
// Their labels are the span's own metric_label_<key>=<value> fields as <key>="<value>",
// plus span_name (the span's name) and result: "error" when the span failed, "ok"
// otherwise. A span failed when it ended with EndErr or has an "error" field of its own;
// with the storage layer composed (before this one), also when storage.HasError says so:
// any of storage's error fields, including those of events logged inside the span.
//
//	ctx, span := tr.Start(ctx, "db.query",
//		slog.String("metric_name", "db_event"),
//		slog.String("metric_label_db", "postgres"),
//		slog.String("metric_label_op", "insert"))
//	err := insert(ctx, row)
//	span.EndErr(err)
//
// exposes, after one successful call,
//
//	db_event_total{db="postgres",op="insert",result="ok",span_name="db.query"} 1
//	db_event_duration_seconds_bucket{db="postgres",op="insert",result="ok",span_name="db.query",le="0.005"} 1
//	...
//	db_event_duration_seconds_count{db="postgres",op="insert",result="ok",span_name="db.query"} 1
//
// Only a span's own fields count: a child span does not inherit its parent's
// metric_name or labels, so every metric counts exactly the spans that asked for it.
// Fields recorded after the start (Span.Record) count too, up to the end.
//
// # Names, labels and cardinality
//
// Whatever the fields hold, the exposition stays valid Prometheus text: metric names are
// made valid ([a-zA-Z_:][a-zA-Z0-9_:]*, other characters become '_'), label names too
// ([a-zA-Z_][a-zA-Z0-9_]*; a user label named span_name, result or le becomes
// exported_span_name, ...), and label values have invalid UTF-8 replaced and \, " and
// newlines escaped. Labels are sorted by name, so a label set has one spelling.
//
// Each metric keeps at most [DefaultMaxSeries] label sets ([WithMaxSeries]); spans and
// events that would add more are not recorded and are counted in
// strata_metrics_dropped_series_total{metric="<name>"}. Distinct metric names are capped
// the same way ([WithMaxMetrics], counted in strata_metrics_dropped_metrics_total).
// A name already exposed with another type (an event histogram "x_total" next to a span
// metric "x", say) is refused the same way, so one name never has two types.
//
// # Metrics from events
//
// Events follow the convention of tracing-opentelemetry's MetricsLayer: a numeric field
// whose key has one of these prefixes updates a metric, labelled with the event's other
// fields (sorted, sanitised and capped as above):
//
//	monotonic_counter.<name>=v   adds v to the counter <name>_total (v >= 0; negative values are ignored)
//	counter.<name>=v             adds v (of either sign) to the gauge <name>, an up-down counter
//	histogram.<name>=v           observes v in the histogram <name> ([WithEventBuckets])
//
//	tr.Info(ctx, "cache lookup", slog.Int("monotonic_counter.cache_hits", 1), slog.String("cache", "songs"))
//	// cache_hits_total{cache="songs"} 1
//
// Values may be integers, floats or durations (observed in seconds); other kinds are
// ignored. The names are those OpenTelemetry's Prometheus exporter would give the same
// instruments.
//
// # Serving
//
// [Layer.Handler] serves everything in the Prometheus text format:
//
//	m := metrics.New()
//	d := subscriber.MustNew(storage.New(), m)
//	http.Handle("/metrics", m.Handler())
//
// The series live in a VictoriaMetrics [github.com/VictoriaMetrics/metrics.Set]: the
// layer's own, or the application's ([WithSet]). Other layers publish their
// self-metrics through the same endpoint with [Layer.RegisterGauge], by registering
// metrics in [Layer.Set], or by handing their own sets to [WithSets].
// [WithProcessMetrics] adds the Go runtime and process metrics.
//
// # Cost
//
// At a span's close, a label set seen before costs a hash of the span's metric fields,
// a lock-free cache lookup, an atomic add and a histogram update (which locks only that
// series): no lock shared by all goroutines, no allocation, no series name built. Label
// values of kinds other than string, number, bool and time are formatted on each close,
// which allocates. The first sight of a label set builds its series names once, under a
// lock.
package metrics
