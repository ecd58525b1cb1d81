package skywalking

// Stats counts what the layer did with the spans it saw. Every segment assembled ends
// up, in the end, in exactly one of Sent, Dropped and Failed (Queued until then).
type Stats struct {
	// Segments counts the segments assembled and handed to the queue.
	Segments uint64
	// Sent counts the segments the collector accepted.
	Sent uint64
	// Dropped counts the segments the queue refused: it was full, or the layer was shut
	// down.
	Dropped uint64
	// Failed counts the segments lost in flight, or still queued when Shutdown's
	// deadline passed.
	Failed uint64
	// Queued is the number of segments waiting for the collector (or being sent).
	Queued int
	// OpenSegments is the number of segments being assembled: some span of theirs is
	// open.
	OpenSegments int
	// Refused counts the local roots not exported because [WithMaxOpenSegments]
	// segments were open.
	Refused uint64
	// SpansDropped counts the spans not exported: local roots refused by the open-segment
	// cap, spans beyond [WithMaxSpansPerSegment], and the children of either.
	SpansDropped uint64
	// LateSpans counts the spans that outlived their segment's linger and went out in a
	// segment of their own (with a CrossThread reference to their parent).
	LateSpans uint64
	// Unlinked counts the spans started from the ctx of an ended span that the layer no
	// longer remembered: they start a segment with no reference to their parent.
	Unlinked uint64
	// LogsDropped counts events not kept as span logs, beyond 128 per span.
	LogsDropped uint64
	// LogRecords counts the events handed to the log queue as log records (see
	// [WithLogFilter]); each ends up in one of LogRecordsSent, LogRecordsDropped and
	// LogRecordsFailed, or is still queued.
	LogRecords uint64
	// LogRecordsSent counts the log records the collector accepted.
	LogRecordsSent uint64
	// LogRecordsDropped counts the log records the log queue refused: it was full, or
	// the layer was shut down.
	LogRecordsDropped uint64
	// LogRecordsFailed counts the log records lost in flight, or still queued when
	// Shutdown's deadline passed.
	LogRecordsFailed uint64
	// LogRecordsQueued is the number of log records waiting for the collector.
	LogRecordsQueued int
	// MeterReports counts the meter reports the collector accepted ([WithMeters]), and
	// MeterReportsFailed those it did not get.
	MeterReports, MeterReportsFailed uint64
	// MetersSent counts the series values in the accepted meter reports.
	MetersSent uint64
	// MetersInvalid counts the gauge values left out of meter reports for being NaN or
	// infinite.
	MetersInvalid uint64
	// MalformedHeaders counts the sw8 headers Extract could not decode.
	MalformedHeaders uint64
}

// Stats returns the layer's counters.
func (l *Layer) Stats() Stats {
	q := l.rep.stats()
	lq := l.rep.logStats()
	return Stats{
		LogRecords:         l.logRecords.Load(),
		MeterReports:       l.meterReports.Load(),
		MeterReportsFailed: l.meterReportsFailed.Load(),
		MetersSent:         l.metersSent.Load(),
		MetersInvalid:      l.metersInvalid.Load(),
		LogRecordsSent:     lq.Sent,
		LogRecordsDropped:  lq.Dropped,
		LogRecordsFailed:   lq.Failed,
		LogRecordsQueued:   lq.Queued,
		Segments:           l.segments.Load(),
		Sent:               q.Sent,
		Dropped:            q.Dropped,
		Failed:             q.Failed,
		Queued:             q.Queued,
		OpenSegments:       int(l.openSegs.Load()),
		Refused:            l.refused.Load(),
		SpansDropped:       l.spansDropped.Load(),
		LateSpans:          l.late.Load(),
		Unlinked:           l.unlinked.Load(),
		LogsDropped:        l.logsDropped.Load(),
		MalformedHeaders:   l.malformed.Load(),
	}
}

// Gauges returns the layer's self-metrics by Prometheus series name, for the metrics
// layer's RegisterGauge:
//
//	for name, fn := range sw.Gauges() {
//		if err := met.RegisterGauge(name, fn); err != nil { ... }
//	}
//
// The *_total series only grow.
func (l *Layer) Gauges() map[string]func() float64 {
	return map[string]func() float64{
		"strata_skywalking_segments_total":             func() float64 { return float64(l.segments.Load()) },
		"strata_skywalking_segments_sent_total":        func() float64 { return float64(l.rep.stats().Sent) },
		"strata_skywalking_segments_dropped_total":     func() float64 { return float64(l.rep.stats().Dropped) },
		"strata_skywalking_segments_failed_total":      func() float64 { return float64(l.rep.stats().Failed) },
		"strata_skywalking_queue_length":               func() float64 { return float64(l.rep.stats().Queued) },
		"strata_skywalking_open_segments":              func() float64 { return float64(l.openSegs.Load()) },
		"strata_skywalking_segments_refused_total":     func() float64 { return float64(l.refused.Load()) },
		"strata_skywalking_spans_dropped_total":        func() float64 { return float64(l.spansDropped.Load()) },
		"strata_skywalking_late_spans_total":           func() float64 { return float64(l.late.Load()) },
		"strata_skywalking_unlinked_spans_total":       func() float64 { return float64(l.unlinked.Load()) },
		"strata_skywalking_logs_dropped_total":         func() float64 { return float64(l.logsDropped.Load()) },
		"strata_skywalking_malformed_headers_total":    func() float64 { return float64(l.malformed.Load()) },
		"strata_skywalking_log_records_total":          func() float64 { return float64(l.logRecords.Load()) },
		"strata_skywalking_log_records_sent_total":     func() float64 { return float64(l.rep.logStats().Sent) },
		"strata_skywalking_log_records_dropped_total":  func() float64 { return float64(l.rep.logStats().Dropped) },
		"strata_skywalking_log_records_failed_total":   func() float64 { return float64(l.rep.logStats().Failed) },
		"strata_skywalking_log_queue_length":           func() float64 { return float64(l.rep.logStats().Queued) },
		"strata_skywalking_meter_reports_total":        func() float64 { return float64(l.meterReports.Load()) },
		"strata_skywalking_meter_reports_failed_total": func() float64 { return float64(l.meterReportsFailed.Load()) },
	}
}
