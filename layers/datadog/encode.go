package datadog

import (
	"encoding/binary"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/subscriber"
	"github.com/tinylib/msgp/msgp"
)

// encoder turns a batch of spans into the Agent's v0.4 msgpack payload. It runs on the
// queue's goroutine only, so it reuses its buffers without locking, and writes a span
// without allocating: tag values it formats (numbers as text, hex ids, JSON) go to
// scratch, and duplicate field keys are found by a scan of the span's few fields (a
// map only past dedupScan of them).
type encoder struct {
	l       *Layer
	buf     []byte
	spans   []*spanexport.Span // the batch, grouped by trace
	traces  []traceGroup       // the batch's traces, in order of first appearance
	of      []int32            // trace (index in traces) of each span of the batch
	index   map[[2]uint64]int32
	meta    []metaKV
	metrics []metricKV
	scratch []byte // the current span's formatted tag values
	// meta0 and metrics0 are where the current span's fields start in meta and
	// metrics (the layer's own tags come first and never clash with a field).
	meta0, metrics0 int
	seen            map[string]struct{} // the fields' keys, once they are dedupScan or more
	indexed         bool
	// sampledOut counts the spans of the last payload sent with a priority of 0 or less.
	sampledOut uint64
}

// traceGroup is one trace of a batch: its id and where its spans are in encoder.spans.
type traceGroup struct {
	id    [2]uint64 // high and low 64 bits
	at, n int
}

// metaKV is a meta tag; its value is v, or scratch[off:end] when inScratch.
type metaKV struct {
	k, v      string
	off, end  int
	inScratch bool
}

type metricKV struct {
	k string
	v float64
}

// dedupScan is how many fields a span has before duplicates are looked up in a map
// rather than by a scan.
const dedupScan = 16

func (e *encoder) init(l *Layer) {
	e.l = l
	e.seen = make(map[string]struct{})
	e.index = make(map[[2]uint64]int32)
}

// group sorts batch into e.spans by trace, traces in order of their first span and
// spans of a trace in batch order, and fills e.traces.
func (e *encoder) group(batch []*spanexport.Span) {
	e.traces, e.of = e.traces[:0], e.of[:0]
	clear(e.index)
	for i, s := range batch {
		raw, _ := s.TraceID.Bytes128()
		id := [2]uint64{binary.BigEndian.Uint64(raw[:8]), binary.BigEndian.Uint64(raw[8:])}
		var t int32
		switch {
		case i > 0 && e.traces[e.of[i-1]].id == id: // the previous span's trace
			t = e.of[i-1]
		default:
			var ok bool
			if t, ok = e.index[id]; !ok {
				t = int32(len(e.traces))
				e.traces = append(e.traces, traceGroup{id: id})
				e.index[id] = t
			}
		}
		e.traces[t].n++
		e.of = append(e.of, t)
	}
	at := 0
	for i := range e.traces {
		e.traces[i].at, at = at, at+e.traces[i].n
		e.traces[i].n = 0
	}
	e.spans = slices.Grow(e.spans[:0], len(batch))[:len(batch)]
	for i, s := range batch {
		t := &e.traces[e.of[i]]
		e.spans[t.at+t.n] = s
		t.n++
	}
}

// encode returns the payload of batch, the spans of each trace in one trace array,
// and the number of traces.
func (e *encoder) encode(batch []*spanexport.Span) ([]byte, int) {
	e.group(batch)
	rate := e.l.agentRate()
	e.sampledOut = 0
	b := msgp.AppendArrayHeader(e.buf[:0], uint32(len(e.traces)))
	for _, t := range e.traces {
		var id [16]byte
		binary.BigEndian.PutUint64(id[:8], t.id[0])
		binary.BigEndian.PutUint64(id[8:], t.id[1])
		prio, upstream := e.l.upstream.get(id)
		if !upstream {
			prio = e.l.decide(t.id[1])
		}
		b = msgp.AppendArrayHeader(b, uint32(t.n))
		for _, s := range e.spans[t.at : t.at+t.n] {
			b = e.appendSpan(b, s, t.id, prio, upstream, rate)
		}
		if prio <= 0 {
			e.sampledOut += uint64(t.n)
		}
	}
	// Keep nothing of the batch's spans.
	clear(e.spans)
	clear(e.meta[:cap(e.meta)])
	clear(e.metrics[:cap(e.metrics)])
	if e.indexed {
		clear(e.seen)
		e.indexed = false
	}
	e.buf = b
	return b, len(e.traces)
}

// attrString returns a string attribute of s.
func attrString(s *spanexport.Span, keys ...string) string {
	for _, k := range keys {
		for _, a := range s.Attrs {
			if a.Key == k {
				return a.Value.String()
			}
		}
	}
	return ""
}

// conventions returns the Datadog name, resource and type of a span.
func conventions(s *spanexport.Span) (name, resource, typ string) {
	name, resource, typ = s.Name, s.Name, "custom"
	if name == "" {
		name, resource = "span", "span"
	}
	method := attrString(s, "http.method", "http.request.method", "http_method")
	switch {
	case method != "" && (s.Kind == spanexport.KindServer || s.Kind == spanexport.KindUnspecified && attrString(s, "http.route") != ""):
		name, typ = "http.request", "web"
		if route := attrString(s, "http.route"); route != "" {
			if strings.HasPrefix(route, method+" ") {
				resource = route
			} else {
				resource = method + " " + route
			}
		}
	case method != "" && s.Kind == spanexport.KindClient:
		name, typ = "http.request", "http"
	case attrString(s, "db.system", "db.system.name") != "":
		typ = dbType(attrString(s, "db.system", "db.system.name"))
		if q := attrString(s, "db.statement", "db.query.text"); q != "" {
			resource = q
		}
	case attrString(s, "messaging.system") != "":
		typ = "queue"
	case attrString(s, "rpc.system") != "":
		typ = "rpc"
	case s.Kind == spanexport.KindServer:
		typ = "web"
	}
	return name, resource, typ
}

// dbType is the Datadog span type of a db.system: "sql" for SQL databases, the
// system's own type for the others Datadog knows, "db" otherwise.
func dbType(system string) string {
	switch strings.ToLower(system) {
	case "postgresql", "postgres", "mysql", "mariadb", "mssql", "sqlserver", "oracle", "sqlite",
		"db2", "cockroachdb", "clickhouse", "h2", "hsqldb", "derby", "firebird", "informix",
		"sybase", "teradata", "vertica", "trino", "spanner", "tidb", "other_sql", "redshift":
		return "sql"
	case "redis", "valkey":
		return "redis"
	case "mongodb":
		return "mongodb"
	case "cassandra":
		return "cassandra"
	case "elasticsearch", "opensearch":
		return "elasticsearch"
	case "memcached":
		return "memcached"
	case "couchbase":
		return "db"
	case "dynamodb":
		return "http"
	}
	return "db"
}

// metaKey renames the fields Datadog knows under another name (the fields of the
// tracer Strata grew from and the newer OpenTelemetry names); it reports false for the
// error fields, which become error.message, error.stack and error.type.
func metaKey(k string) string {
	switch k {
	case "http_url", "url.full":
		return "http.url"
	case "http_method", "http.request.method":
		return "http.method"
	case "http_status_code", "http.response.status_code":
		return "http.status_code"
	}
	return k
}

// errorField reports which error tag a field key fills: 'm' message, 's' stack, 't'
// type, or 0.
func errorField(k string) byte {
	switch k {
	case "error", "error.message", "error_msg", "error.msg":
		return 'm'
	case "error_stack", "error.stack":
		return 's'
	case "error_type", "error.type":
		return 't'
	}
	return 0
}

// span tags the layer writes itself; fields with these keys are left out.
func reservedKey(k string) bool {
	switch k {
	case "_dd.p.tid", "env", "version", "language", "span.kind", "service",
		"_sampling_priority_v1", "_dd.top_level", "_dd.agent_psr", "_dd.span_links", "events":
		return true
	}
	return false
}

// addMeta adds one of the layer's own tags (its key never clashes with a field's).
func (e *encoder) addMeta(k, v string) { e.meta = append(e.meta, metaKV{k: k, v: v}) }

// addScratchMeta adds a tag whose value is what was appended to scratch since off.
func (e *encoder) addScratchMeta(k string, off int) {
	e.meta = append(e.meta, metaKV{k: k, off: off, end: len(e.scratch), inScratch: true})
}

// dup reports whether the current span has a field with key k already, and notes k
// when it has not.
func (e *encoder) dup(k string) bool {
	meta, metrics := e.meta[e.meta0:], e.metrics[e.metrics0:]
	if !e.indexed {
		if len(meta)+len(metrics) < dedupScan {
			for i := range meta {
				if meta[i].k == k {
					return true
				}
			}
			for i := range metrics {
				if metrics[i].k == k {
					return true
				}
			}
			return false
		}
		for i := range meta {
			e.seen[meta[i].k] = struct{}{}
		}
		for i := range metrics {
			e.seen[metrics[i].k] = struct{}{}
		}
		e.indexed = true
	}
	if _, ok := e.seen[k]; ok {
		return true
	}
	e.seen[k] = struct{}{}
	return false
}

// addField files a field as a tag, unless a field with its key came first: numbers in
// metrics (but http.status_code, a string tag by Datadog's convention), everything
// else as text in meta.
func (e *encoder) addField(k string, v slog.Value) {
	k = validUTF8(k)
	if e.dup(k) {
		return
	}
	off := len(e.scratch)
	switch v.Kind() {
	case slog.KindString:
		e.addMeta(k, validUTF8(v.String()))
	case slog.KindInt64:
		if k == "http.status_code" {
			e.scratch = strconv.AppendInt(e.scratch, v.Int64(), 10)
			e.addScratchMeta(k, off)
		} else {
			e.metrics = append(e.metrics, metricKV{k, float64(v.Int64())})
		}
	case slog.KindUint64:
		if k == "http.status_code" {
			e.scratch = strconv.AppendUint(e.scratch, v.Uint64(), 10)
			e.addScratchMeta(k, off)
		} else {
			e.metrics = append(e.metrics, metricKV{k, float64(v.Uint64())})
		}
	case slog.KindFloat64:
		e.metrics = append(e.metrics, metricKV{k, v.Float64()})
	case slog.KindBool:
		e.scratch = strconv.AppendBool(e.scratch, v.Bool())
		e.addScratchMeta(k, off)
	case slog.KindTime:
		e.scratch = v.Time().UTC().AppendFormat(e.scratch, time.RFC3339Nano)
		e.addScratchMeta(k, off)
	default:
		e.addMeta(k, validUTF8(v.String()))
	}
}

func (e *encoder) appendSpan(b []byte, s *spanexport.Span, id [2]uint64, prio int, upstream bool, rate float64) []byte {
	e.meta, e.metrics, e.scratch = e.meta[:0], e.metrics[:0], e.scratch[:0]
	if e.indexed {
		clear(e.seen)
		e.indexed = false
	}
	l := e.l

	failed := s.Status == spanexport.StatusError
	var errMsg, errStack, errType string
	note := func(a slog.Attr) {
		switch errorField(a.Key) {
		case 'm':
			if errMsg == "" && subscriber.IsErrorValue(a.Value) {
				errMsg, failed = a.Value.String(), true
			}
		case 's':
			if errStack == "" {
				errStack = a.Value.String()
			}
		case 't':
			if errType == "" {
				errType = a.Value.String()
			}
		}
	}
	for _, a := range s.Attrs {
		note(a)
	}
	for i := range s.Events {
		for _, a := range s.Events[i].Attrs {
			note(a)
		}
	}
	if failed && errMsg == "" {
		errMsg = s.StatusMessage
	}

	// The layer's own tags first: fields cannot replace them.
	if id[0] != 0 {
		e.scratch = appendHex64(e.scratch, id[0])
		e.addScratchMeta("_dd.p.tid", 0)
	}
	if l.envTag != "" {
		e.addMeta("env", l.envTag)
	}
	if l.versionTag != "" {
		e.addMeta("version", l.versionTag)
	}
	e.addMeta("language", "go")
	if k := s.Kind.String(); k != "" {
		e.addMeta("span.kind", k)
	}
	if errMsg != "" {
		e.addMeta("error.message", validUTF8(errMsg))
	}
	if errStack != "" {
		e.addMeta("error.stack", validUTF8(errStack))
	}
	if errType != "" {
		e.addMeta("error.type", validUTF8(errType))
	}
	e.metrics = append(e.metrics, metricKV{"_sampling_priority_v1", float64(prio)})
	topLevel := s.ParentID == 0 || s.RemoteParent || s.Kind == spanexport.KindServer || s.Kind == spanexport.KindConsumer
	if topLevel {
		e.metrics = append(e.metrics, metricKV{"_dd.top_level", 1})
		if !upstream {
			e.metrics = append(e.metrics, metricKV{"_dd.agent_psr", rate})
		}
	}
	e.meta0, e.metrics0 = len(e.meta), len(e.metrics)
	for _, a := range s.Attrs {
		if a.Key == "" || errorField(a.Key) != 0 || reservedKey(a.Key) {
			continue
		}
		e.addField(metaKey(a.Key), a.Value)
	}
	if len(s.Links) > 0 {
		off := len(e.scratch)
		e.appendLinksJSON(s.Links)
		e.addScratchMeta("_dd.span_links", off)
	}
	if len(s.Events) > 0 {
		off := len(e.scratch)
		e.appendEventsJSON(s.Events)
		e.addScratchMeta("events", off)
	}

	name, resource, typ := conventions(s)
	start := s.Start.UnixNano()
	dur := s.End.Sub(s.Start).Nanoseconds()
	if dur < 0 {
		dur = 0
	}
	b = msgp.AppendMapHeader(b, 12)
	b = msgp.AppendString(b, "service")
	b = msgp.AppendString(b, l.serviceTag)
	b = msgp.AppendString(b, "name")
	b = msgp.AppendString(b, validUTF8(name))
	b = msgp.AppendString(b, "resource")
	b = msgp.AppendString(b, validUTF8(resource))
	b = msgp.AppendString(b, "type")
	b = msgp.AppendString(b, typ)
	b = msgp.AppendString(b, "trace_id")
	b = msgp.AppendUint64(b, id[1])
	b = msgp.AppendString(b, "span_id")
	b = msgp.AppendUint64(b, uint64(s.SpanID))
	b = msgp.AppendString(b, "parent_id")
	b = msgp.AppendUint64(b, s.ParentID)
	b = msgp.AppendString(b, "start")
	b = msgp.AppendInt64(b, start)
	b = msgp.AppendString(b, "duration")
	b = msgp.AppendInt64(b, dur)
	b = msgp.AppendString(b, "error")
	if failed {
		b = msgp.AppendInt32(b, 1)
	} else {
		b = msgp.AppendInt32(b, 0)
	}
	b = msgp.AppendString(b, "meta")
	b = msgp.AppendMapHeader(b, uint32(len(e.meta)))
	for i := range e.meta {
		kv := &e.meta[i]
		b = msgp.AppendString(b, kv.k)
		if kv.inScratch {
			b = msgp.AppendStringFromBytes(b, e.scratch[kv.off:kv.end])
		} else {
			b = msgp.AppendString(b, kv.v)
		}
	}
	b = msgp.AppendString(b, "metrics")
	b = msgp.AppendMapHeader(b, uint32(len(e.metrics)))
	for _, kv := range e.metrics {
		b = msgp.AppendString(b, kv.k)
		b = msgp.AppendFloat64(b, kv.v)
	}
	return b
}

// validUTF8 replaces invalid UTF-8, which the Agent's decoder rejects in strings.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// appendLinksJSON appends follows-from links to scratch as Datadog's _dd.span_links tag.
func (e *encoder) appendLinksJSON(links []spanexport.Link) {
	j := append(e.scratch, '[')
	for i, ln := range links {
		if i > 0 {
			j = append(j, ',')
		}
		id, _ := ln.TraceID.Bytes128()
		j = append(j, `{"trace_id":"`...)
		j = appendHex64(j, binary.BigEndian.Uint64(id[:8]))
		j = appendHex64(j, binary.BigEndian.Uint64(id[8:]))
		j = append(j, `","span_id":"`...)
		j = appendHex64(j, uint64(ln.SpanID))
		j = append(j, `"}`...)
	}
	e.scratch = append(j, ']')
}

// appendEventsJSON appends span events to scratch as the events tag Datadog's tracers
// send to Agents without native span events: name, time_unix_nano and attributes.
func (e *encoder) appendEventsJSON(evs []spanexport.Event) {
	j := append(e.scratch, '[')
	for i := range evs {
		ev := &evs[i]
		if i > 0 {
			j = append(j, ',')
		}
		j = append(j, `{"name":`...)
		j = appendJSONString(j, ev.Message)
		j = append(j, `,"time_unix_nano":`...)
		j = strconv.AppendInt(j, ev.Time.UnixNano(), 10)
		j = append(j, `,"attributes":{"level":`...)
		j = appendJSONString(j, ev.Level.String())
		for _, a := range ev.Attrs {
			if a.Key == "level" {
				continue
			}
			j = append(j, ',')
			j = appendJSONString(j, a.Key)
			j = append(j, ':')
			switch v := a.Value; v.Kind() {
			case slog.KindInt64:
				j = strconv.AppendInt(j, v.Int64(), 10)
			case slog.KindUint64:
				j = strconv.AppendUint(j, v.Uint64(), 10)
			case slog.KindBool:
				j = strconv.AppendBool(j, v.Bool())
			default:
				j = appendJSONString(j, v.String())
			}
		}
		j = append(j, "}}"...)
	}
	e.scratch = append(j, ']')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
