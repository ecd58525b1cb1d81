package skywalking

import (
	"encoding/json"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/strata-go/strata/subscriber"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
)

// DefaultLogFilter is the filter of the events the layer reports as log records when
// no [WithLogFilter] is given: WARN and above. Debug and info events usually go to a
// local log (logfmt) and are too many to ship to the OAP.
var DefaultLogFilter subscriber.Filter = logLevelFilter(subscriber.LevelWarn)

type logLevelFilter subscriber.Level

func (f logLevelFilter) Enabled(m *subscriber.Metadata, _ subscriber.Scope) bool {
	return m.Level >= subscriber.Level(f)
}

func (f logLevelFilter) LevelHint() subscriber.Level { return subscriber.Level(f) }

// logSpan is where an event happened, for its log record: the trace, segment and span
// id of the span, and the segment's endpoint. The zero logSpan is outside any span the
// layer exports.
type logSpan struct {
	traceID, segID, endpoint string
	idx                      int32
}

// logSpanLocked is the logSpan of span idx of the locked seg.
func logSpanLocked(seg *segment, idx int32) logSpan {
	traceID, segID := seg.idsLocked()
	return logSpan{traceID: traceID, segID: segID, endpoint: seg.endpointLocked(), idx: idx}
}

// logRecord returns the log record of ev, which happened in at.
func (l *Layer) logRecord(ev *subscriber.Event, at logSpan) *logv3.LogData {
	ts := ev.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	ld := &logv3.LogData{
		Timestamp:       ts.UnixMilli(),
		Service:         l.service,
		ServiceInstance: l.instance,
		Layer:           l.swLayer,
	}
	if at.segID != "" {
		ld.Endpoint = at.endpoint
		ld.TraceContext = &logv3.TraceContext{TraceId: at.traceID, TraceSegmentId: at.segID, SpanId: at.idx}
	}
	if l.logJSON {
		ld.Body = &logv3.LogDataBody{Type: "json", Content: &logv3.LogDataBody_Json{Json: &logv3.JSONLog{Json: jsonBody(ev)}}}
	} else {
		ld.Body = &logv3.LogDataBody{Type: "text", Content: &logv3.LogDataBody_Text{Text: &logv3.TextLog{Text: ev.Message}}}
	}
	// level, target and the fields, in one allocation.
	n := 2 + len(ev.Attrs)
	kv := make([]commonv3.KeyStringValuePair, n)
	data := make([]*commonv3.KeyStringValuePair, n)
	kv[0].Key, kv[0].Value = "level", levelName(ev.Meta.Level)
	kv[1].Key, kv[1].Value = "target", ev.Meta.Target
	for i := range ev.Attrs {
		kv[2+i].Key, kv[2+i].Value = ev.Attrs[i].Key, valueString(ev.Attrs[i].Value)
	}
	for i := range kv {
		data[i] = &kv[i]
	}
	ld.Tags = &logv3.LogTags{Data: data}
	return ld
}

// wantsLog says whether ev goes out as a log record.
func (l *Layer) wantsLog(ev *subscriber.Event) bool {
	return l.logFilter != nil && l.logFilter.Enabled(&ev.Meta, subscriber.Scope{Parent: ev.Span, Fields: ev.Attrs})
}

// sendLog queues the log record of ev; a full queue drops it, counted.
func (l *Layer) sendLog(ev *subscriber.Event, at logSpan) {
	l.logRecords.Add(1)
	l.rep.reportLog(l.logRecord(ev, at))
}

// jsonBody is the JSON object of an event: "message", then its fields. Numbers and
// booleans stay JSON numbers and booleans; everything else is a string. A later field
// with the key "message" does not replace the message: it is left out.
func jsonBody(ev *subscriber.Event) string {
	b := make([]byte, 0, 64+32*len(ev.Attrs))
	b = append(b, `{"message":`...)
	b = appendJSONString(b, ev.Message)
	seen := map[string]bool{"message": true}
	for i := range ev.Attrs {
		a := &ev.Attrs[i]
		if seen[a.Key] {
			continue
		}
		seen[a.Key] = true
		b = append(b, ',')
		b = appendJSONString(b, a.Key)
		b = append(b, ':')
		b = appendJSONValue(b, a.Value)
	}
	return string(append(b, '}'))
}

func appendJSONValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		if f := v.Float64(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return strconv.AppendFloat(b, f, 'g', -1, 64)
		}
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	}
	return appendJSONString(b, valueString(v))
}

func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s) // escapes control characters, replaces invalid UTF-8
	if err != nil {
		return append(b, `""`...)
	}
	return append(b, q...)
}
