package datadog

import "math"

// Stats counts what the layer did with the spans it saw. Every span closed ends up in
// exactly one of Sent, Dropped and Failed (Queued until then).
type Stats struct {
	// Spans counts the spans closed and offered to the queue.
	Spans uint64
	// Sent counts the spans the Agent accepted.
	Sent uint64
	// Dropped counts the spans the queue refused: it was full (the Agent is down or
	// slow), or the layer was shut down.
	Dropped uint64
	// Failed counts the spans lost in flight (the Agent refused the payload, or the
	// connection broke after it was sent), or still queued when Shutdown's deadline
	// passed.
	Failed uint64
	// Queued is the number of spans waiting for the Agent (or being sent).
	Queued int
	// Retries counts the requests that could not reach the Agent, or that it answered
	// with 429 or 5xx, and were sent again after a backoff.
	Retries uint64
	// EventsDropped counts the events not kept as span events, beyond 128 per span.
	EventsDropped uint64
	// Rejected counts the payloads the Agent refused with another 4xx status; their
	// spans count in Failed.
	Rejected uint64
	// SampledOut counts the spans sent with a sampling priority of 0 or less: the Agent
	// uses them for its statistics and does not keep them.
	SampledOut uint64
	// AgentRates counts the Agent's answers that carried sampling rates; AgentRate is
	// the rate this service uses now (1 until the Agent answers).
	AgentRates uint64
	AgentRate  float64
	// MalformedHeaders counts the Datadog headers Extract could not decode.
	MalformedHeaders uint64
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats {
	s := l.Exporter.Stats()
	return Stats{
		Spans:            s.Spans,
		Sent:             s.Sent,
		Dropped:          s.Dropped,
		Failed:           s.Failed,
		Queued:           s.Queued,
		Retries:          s.Retries,
		EventsDropped:    s.EventsDropped,
		Rejected:         l.rejected.Load(),
		SampledOut:       l.sampledOut.Load(),
		AgentRates:       l.agentRates.Load(),
		AgentRate:        math.Float64frombits(l.rate.Load()),
		MalformedHeaders: l.prop.MalformedHeaders(),
	}
}

// Gauges returns the layer's self-metrics by Prometheus series name, for the metrics
// layer's RegisterGauge:
//
//	for name, fn := range dd.Gauges() {
//		if err := met.RegisterGauge(name, fn); err != nil { ... }
//	}
//
// strata_datadog_spans_total, _spans_sent_total, _spans_dropped_total,
// _spans_failed_total, _queue_length, _retries_total, _events_dropped_total,
// _payloads_rejected_total, _spans_sampled_out_total, _agent_rates_total,
// _agent_sampling_rate and _malformed_headers_total. The *_total series only grow.
func (l *Layer) Gauges() map[string]func() float64 {
	g := l.Exporter.Gauges("strata_datadog")
	g["strata_datadog_payloads_rejected_total"] = func() float64 { return float64(l.rejected.Load()) }
	g["strata_datadog_spans_sampled_out_total"] = func() float64 { return float64(l.sampledOut.Load()) }
	g["strata_datadog_agent_rates_total"] = func() float64 { return float64(l.agentRates.Load()) }
	g["strata_datadog_agent_sampling_rate"] = func() float64 { return math.Float64frombits(l.rate.Load()) }
	g["strata_datadog_malformed_headers_total"] = func() float64 { return float64(l.prop.MalformedHeaders()) }
	return g
}
