// Package metrics is the Strata layer that derives Prometheus metrics from spans and
// events, and serves them on a /metrics endpoint.
//
// # Metrics from spans
//
// A span started with metric_name=<name> among its fields updates two series when it
// ends:
//
//	<name>_total                 a counter of the spans that ended
//	<name>_duration_seconds      a histogram (with le buckets) of their durations
//
// Their labels are the span's own metric_label_<key>=<value> fields as <key>="<value>",
// plus span_name (the span's name) and result: "error" when the span failed, "ok"
// otherwise. A span failed when it ended with EndErr or has an "error" field of its own
// that names an actual error (not nil, a nil error or an empty string:
// slog.Any("error", err) with a nil err is no failure; see subscriber.IsErrorValue);
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
//
// A span asks for metrics at its start: the layer is a [subscriber.FieldWanter], so the
// dispatch shows it only the spans with at least one metric_* field among their start
// fields (at any level: a DEBUG span with metric_name counts even when the other layers
// log INFO and above), and the events with a metric field or an error field. Give
// metric_name at Start. Fields recorded later with Span.Record count too, up to the end
// (a label known only after the work, a corrected metric_name), but only for a span that
// started with a metric_* field: a span started without any never counts, even if
// metric_name is recorded later. A span that must learn its name later can start with
// one of its labels, or with a placeholder metric_name that it records over.
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
//
// Every name the exposition holds belongs to one metric, so that a Prometheus parser
// never rejects the scrape: a span metric <name> owns <name>_total and
// <name>_duration_seconds with its _bucket, _sum and _count series; an event histogram
// h owns h, h_bucket, h_sum and h_count; an event counter or gauge its name. So do the
// layer's self-metrics, the names registered with [Layer.RegisterGauge] and, with
// [WithProcessMetrics], the Go and process metrics. The first metric to expose a name
// keeps it; a later span or event metric that would expose one of its names (a
// counter.ok_duration_seconds_count gauge next to a span metric "ok", a span metric
// "late" after a gauge late_duration_seconds_sum, a monotonic_counter.ok next to the
// span metric's ok_total) records nothing and is counted in
// strata_metrics_dropped_series_total{metric="<its name>"}, and RegisterGauge refuses a
// taken name with an error. Metrics the application registers directly in the set, or in
// the sets given with [WithSets], are not checked: keep their names apart.
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
// # The application's own metrics
//
// [Layer.NewCounter], [Layer.NewGaugeFunc] and [Layer.NewHistogram] (with its own
// bucket bounds) register a metric under a name and label set once, in the spirit of
// the SkyWalking agents' Metricer; it is served with the rest and shown by
// [Layer.Visit], so the SkyWalking layer reports it as a meter too:
//
//	uploads, err := m.NewCounter("uploads_total", metrics.Label{Name: "region", Value: "eu"})
//	uploads.Inc()
//
// # Reading the series
//
// [Layer.Visit] shows every series the layer keeps (derived, the application's, the
// gauges of RegisterGauge) with its name, labels, kind and value, or a histogram's
// per-bucket counts: the read API of exporters that push metrics.
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
// The layer resolves a span's series when it starts. Spans from a call site that passes
// its metric name, labels and span name as constants (or as strings it keeps) find them
// by the addresses of those strings in a lock-free table, checked against copies of
// their bytes; other spans build their label set's identity bytes, hash them and look
// them up in a lock-free cache. At close, a span whose metric fields did not change since
// picks the series of its result, then does an atomic add and a histogram update (which
// locks only that series). No lock shared by all goroutines, no allocation, no series
// name built. Label values of kinds other than string, number, bool and time are
// formatted each time they are looked up, which allocates. The first sight of a label
// set builds its series names once, under a lock.
package metrics
