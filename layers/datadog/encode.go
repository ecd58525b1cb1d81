package datadog

import (
	"cmp"
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
// queue's goroutine only, so it reuses its buffers without locking.
type encoder struct {
	l       *Layer
	buf     []byte
	spans   []idSpan
	meta    []metaKV
	metrics []metricKV
	seen    map[string]struct{}
	js      []byte // JSON of span events and links
	// sampledOut counts the spans of the last payload sent with a priority of 0 or less.
	sampledOut uint64
}

type idSpan struct {
	hi, lo uint64
	s      *spanexport.Span
}

type metaKV struct{ k, v string }

type metricKV struct {
	k string
	v float64
}

func (e *encoder) init(l *Layer) {
	e.l = l
	e.seen = make(map[string]struct{})
}

// encode returns the payload of batch, the spans of each trace in one trace array,
// and the number of traces.
func (e *encoder) encode(batch []*spanexport.Span) ([]byte, int) {
	e.spans = e.spans[:0]
	for _, s := range batch {
		id, _ := spanexport.TraceID128(s.TraceID)
		e.spans = append(e.spans, idSpan{binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:]), s})
	}
	slices.SortStableFunc(e.spans, func(a, b idSpan) int {
		return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo))
	})
	traces := 0
	for i := range e.spans {
		if i == 0 || e.spans[i].hi != e.spans[i-1].hi || e.spans[i].lo != e.spans[i-1].lo {
			traces++
		}
	}
	rate := e.l.agentRate()
	e.sampledOut = 0
	b := msgp.AppendArrayHeader(e.buf[:0], uint32(traces))
	for i := 0; i < len(e.spans); {
		j := i + 1
		for j < len(e.spans) && e.spans[j].hi == e.spans[i].hi && e.spans[j].lo == e.spans[i].lo {
			j++
		}
		var id [16]byte
		binary.BigEndian.PutUint64(id[:8], e.spans[i].hi)
		binary.BigEndian.PutUint64(id[8:], e.spans[i].lo)
		prio, upstream := e.l.upstream.get(id)
		if !upstream {
			prio = e.l.decide(e.spans[i].lo)
		}
		b = msgp.AppendArrayHeader(b, uint32(j-i))
		for k := i; k < j; k++ {
			b = e.appendSpan(b, e.spans[k], prio, upstream, rate)
			if prio <= 0 {
				e.sampledOut++
			}
		}
		i = j
	}
	clear(e.spans) // keep no span after the batch
	e.buf = b
	return b, traces
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

func (e *encoder) addMeta(k, v string) {
	if _, dup := e.seen[k]; dup {
		return
	}
	e.seen[k] = struct{}{}
	e.meta = append(e.meta, metaKV{k, v})
}

func (e *encoder) addMetric(k string, v float64) {
	if _, dup := e.seen[k]; dup {
		return
	}
	e.seen[k] = struct{}{}
	e.metrics = append(e.metrics, metricKV{k, v})
}

// addValue files a field as a tag: numbers in metrics (but http.status_code, a string
// tag by Datadog's convention), everything else as text in meta.
func (e *encoder) addValue(k string, v slog.Value) {
	switch v.Kind() {
	case slog.KindInt64:
		if k == "http.status_code" {
			e.addMeta(k, strconv.FormatInt(v.Int64(), 10))
		} else {
			e.addMetric(k, float64(v.Int64()))
		}
	case slog.KindUint64:
		if k == "http.status_code" {
			e.addMeta(k, strconv.FormatUint(v.Uint64(), 10))
		} else {
			e.addMetric(k, float64(v.Uint64()))
		}
	case slog.KindFloat64:
		e.addMetric(k, v.Float64())
	case slog.KindBool:
		e.addMeta(k, strconv.FormatBool(v.Bool()))
	case slog.KindTime:
		e.addMeta(k, v.Time().UTC().Format(time.RFC3339Nano))
	default:
		e.addMeta(k, v.String())
	}
}

func (e *encoder) appendSpan(b []byte, is idSpan, prio int, upstream bool, rate float64) []byte {
	s := is.s
	e.meta, e.metrics = e.meta[:0], e.metrics[:0]
	clear(e.seen)
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
	if is.hi != 0 {
		e.addMeta("_dd.p.tid", string(appendHex64(e.js[:0], is.hi)))
	}
	if l.env != "" {
		e.addMeta("env", l.env)
	}
	if l.version != "" {
		e.addMeta("version", l.version)
	}
	e.addMeta("language", "go")
	if k := s.Kind.String(); k != "" {
		e.addMeta("span.kind", k)
	}
	if errMsg != "" {
		e.addMeta("error.message", errMsg)
	}
	if errStack != "" {
		e.addMeta("error.stack", errStack)
	}
	if errType != "" {
		e.addMeta("error.type", errType)
	}
	e.addMetric("_sampling_priority_v1", float64(prio))
	topLevel := s.ParentID == 0 || s.RemoteParent || s.Kind == spanexport.KindServer || s.Kind == spanexport.KindConsumer
	if topLevel {
		e.addMetric("_dd.top_level", 1)
		if !upstream {
			e.addMetric("_dd.agent_psr", rate)
		}
	}
	for _, a := range s.Attrs {
		if a.Key == "" || errorField(a.Key) != 0 || reservedKey(a.Key) {
			continue
		}
		e.addValue(metaKey(a.Key), a.Value)
	}
	if len(s.Links) > 0 {
		e.addMeta("_dd.span_links", string(e.linksJSON(s.Links)))
	}
	if len(s.Events) > 0 {
		e.addMeta("events", string(e.eventsJSON(s.Events)))
	}

	name, resource, typ := conventions(s)
	start := s.Start.UnixNano()
	dur := s.End.Sub(s.Start).Nanoseconds()
	if dur < 0 {
		dur = 0
	}
	b = msgp.AppendMapHeader(b, 12)
	b = msgp.AppendString(b, "service")
	b = msgp.AppendString(b, l.service)
	b = msgp.AppendString(b, "name")
	b = msgp.AppendString(b, name)
	b = msgp.AppendString(b, "resource")
	b = msgp.AppendString(b, resource)
	b = msgp.AppendString(b, "type")
	b = msgp.AppendString(b, typ)
	b = msgp.AppendString(b, "trace_id")
	b = msgp.AppendUint64(b, is.lo)
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
	for _, kv := range e.meta {
		b = msgp.AppendString(b, validUTF8(kv.k))
		b = msgp.AppendString(b, validUTF8(kv.v))
	}
	b = msgp.AppendString(b, "metrics")
	b = msgp.AppendMapHeader(b, uint32(len(e.metrics)))
	for _, kv := range e.metrics {
		b = msgp.AppendString(b, validUTF8(kv.k))
		b = msgp.AppendFloat64(b, kv.v)
	}
	clear(e.meta)
	return b
}

// validUTF8 replaces invalid UTF-8, which the Agent's decoder rejects in strings.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// linksJSON writes follows-from links as Datadog's _dd.span_links tag.
func (e *encoder) linksJSON(links []spanexport.Link) []byte {
	j := append(e.js[:0], '[')
	for i, ln := range links {
		if i > 0 {
			j = append(j, ',')
		}
		id, _ := spanexport.TraceID128(ln.TraceID)
		j = append(j, `{"trace_id":"`...)
		j = appendHex64(j, binary.BigEndian.Uint64(id[:8]))
		j = appendHex64(j, binary.BigEndian.Uint64(id[8:]))
		j = append(j, `","span_id":"`...)
		j = appendHex64(j, uint64(ln.SpanID))
		j = append(j, `"}`...)
	}
	j = append(j, ']')
	e.js = j
	return j
}

// eventsJSON writes span events as the events tag Datadog's tracers send to Agents
// without native span events: name, time_unix_nano and attributes.
func (e *encoder) eventsJSON(evs []spanexport.Event) []byte {
	j := append(e.js[:0], '[')
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
	j = append(j, ']')
	e.js = j
	return j
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
