package jaeger

// Stats counts what the layer did with the spans it saw. Every span closed ends up in
// exactly one of Sent, Dropped and Failed (Queued until then); the counters are exact
// whenever no send is in progress (after Flush or Shutdown, say), and may be off by
// one batch while one is.
type Stats struct {
	// Spans counts the spans closed and offered to the queue.
	Spans uint64
	// Sent counts the spans written to the agent in a datagram. UDP has no
	// acknowledgement: a span is sent once the socket took its datagram.
	Sent uint64
	// Dropped counts the spans the queue refused: it was full, or the layer was shut
	// down.
	Dropped uint64
	// Failed counts the spans lost: their datagram could not be written (no agent
	// listening makes the socket report "connection refused"), they were too large
	// (TooLarge), or they were still queued when Shutdown's deadline passed.
	Failed uint64
	// Queued is the number of spans waiting to be sent (or being sent).
	Queued int
	// Retries counts the sends retried after a backoff; UDP writes are not retried,
	// so it stays 0.
	Retries uint64
	// EventsDropped counts the events not kept as span logs, beyond 128 per span.
	EventsDropped uint64
	// Truncated counts the spans sent without their logs, or without their logs and
	// fields, to fit in one datagram; they carry the tag strata.truncated=true.
	Truncated uint64
	// TooLarge counts the spans dropped because even their ids, name, times and
	// references did not fit in one datagram (a huge name, a great many links);
	// they are counted in Failed too.
	TooLarge uint64
	// Datagrams counts the datagrams written.
	Datagrams uint64
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats {
	s := l.Exporter.Stats()
	return Stats{
		Spans:         s.Spans,
		Sent:          s.Sent,
		Dropped:       s.Dropped,
		Failed:        s.Failed,
		Queued:        s.Queued,
		Retries:       s.Retries,
		EventsDropped: s.EventsDropped,
		Truncated:     l.truncated.Load(),
		TooLarge:      l.tooLarge.Load(),
		Datagrams:     l.datagrams.Load(),
	}
}

// Gauges returns the layer's self-metrics by Prometheus series name, for the metrics
// layer's RegisterGauge:
//
//	for name, fn := range jl.Gauges() {
//		if err := met.RegisterGauge(name, fn); err != nil { ... }
//	}
//
// The series are strata_jaeger_spans_total, _spans_sent_total, _spans_dropped_total,
// _spans_failed_total, _queue_length, _retries_total, _events_dropped_total,
// _spans_truncated_total, _spans_too_large_total and _datagrams_total; the *_total
// series only grow.
func (l *Layer) Gauges() map[string]func() float64 {
	const prefix = "strata_jaeger"
	g := l.Exporter.Gauges(prefix)
	g[prefix+"_spans_truncated_total"] = func() float64 { return float64(l.truncated.Load()) }
	g[prefix+"_spans_too_large_total"] = func() float64 { return float64(l.tooLarge.Load()) }
	g[prefix+"_datagrams_total"] = func() float64 { return float64(l.datagrams.Load()) }
	return g
}
