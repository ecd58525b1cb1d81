package skywalking

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// A request with an entry span, a local child that logs an event and fails, and an exit
// child with a peer is one segment whose every field is the mapping DESIGN.md gives.
func TestRequestBecomesOneSegment(t *testing.T) {
	f := newFixture(t)
	before := time.Now().UnixMilli()

	ctx, root := f.tr.Start(context.Background(), "GET /songs",
		slog.String("otel.kind", "server"), slog.String("http.method", "GET"), slog.String("http.route", "/songs"))
	lctx, local := f.tr.Start(ctx, "songs.lookup", slog.String("subject", "db"), slog.Int("rows", 3))
	f.tr.Warn(lctx, "cache miss", slog.String("key", "k1"), slog.Int("attempt", 2))
	local.EndErr(errors.New("boom"))
	_, exit := f.tr.Start(ctx, "GET api.last.fm", slog.String("otel.kind", "client"),
		slog.String("http.method", "GET"), slog.String("peer", "api.last.fm:443"), slog.String("metric_name", "vendor"))
	exit.End()
	root.Record(slog.Int("http.status_code", 200))
	traceID := root.TraceID().String()
	root.End()

	after := time.Now().UnixMilli()
	seg := f.only(t)
	if !hex32.MatchString(seg.TraceSegmentId) || !hex32.MatchString(seg.TraceId) {
		t.Errorf("ids are not 32 lowercase hex: trace %q segment %q", seg.TraceId, seg.TraceSegmentId)
	}
	if seg.TraceId != traceID {
		t.Errorf("traceId = %q, want the span's %q", seg.TraceId, traceID)
	}
	for _, sp := range seg.Spans {
		if sp.StartTime < before || sp.EndTime > after || sp.StartTime > sp.EndTime {
			t.Errorf("span %q: times %d..%d outside the test's %d..%d (ms)", sp.OperationName, sp.StartTime, sp.EndTime, before, after)
		}
		sp.StartTime, sp.EndTime = 0, 0
	}
	var logTime int64
	if lg := spanNamed(t, seg, "songs.lookup").Logs; len(lg) == 1 {
		logTime = lg[0].Time
		if logTime < before || logTime > after {
			t.Errorf("log time %d outside the test's %d..%d", logTime, before, after)
		}
	}
	kv := func(k, v string) *commonv3.KeyStringValuePair { return &commonv3.KeyStringValuePair{Key: k, Value: v} }
	want := &agentv3.SegmentObject{
		TraceId:         traceID,
		TraceSegmentId:  seg.TraceSegmentId,
		Service:         "svc",
		ServiceInstance: "inst",
		Spans: []*agentv3.SpanObject{
			{
				SpanId: 0, ParentSpanId: -1, OperationName: "GET /songs",
				SpanType: agentv3.SpanType_Entry, SpanLayer: agentv3.SpanLayer_Http, ComponentId: 5004,
				Tags: []*commonv3.KeyStringValuePair{kv("http.method", "GET"), kv("http.route", "/songs"), kv("http.status_code", "200")},
			},
			{
				SpanId: 1, ParentSpanId: 0, OperationName: "songs.lookup",
				SpanType: agentv3.SpanType_Local, IsError: true,
				Tags: []*commonv3.KeyStringValuePair{kv("subject", "db"), kv("rows", "3"), kv("error", "boom")},
				Logs: []*agentv3.Log{{Time: logTime, Data: []*commonv3.KeyStringValuePair{
					kv("event", "warn"), kv("message", "cache miss"), kv("key", "k1"), kv("attempt", "2")}}},
			},
			{
				SpanId: 2, ParentSpanId: 0, OperationName: "GET api.last.fm", Peer: "api.last.fm:443",
				SpanType: agentv3.SpanType_Exit, SpanLayer: agentv3.SpanLayer_Http, ComponentId: 5005,
				Tags: []*commonv3.KeyStringValuePair{kv("http.method", "GET")},
			},
		},
	}
	if !proto.Equal(seg, want) {
		t.Errorf("segment:\n%s\nwant:\n%s", prototext.Format(seg), prototext.Format(want))
	}
	if st := f.l.Stats(); st.Segments != 1 || st.Sent != 1 || st.OpenSegments != 0 {
		t.Errorf("stats %+v, want 1 segment sent and none open", st)
	}
}

// isError comes from an error end, an error field, otel.status_code=ERROR, an error field
// of an event inside the span, or an entry span with an HTTP status of 500 or more; a nil
// error field and a client's 503 are no error.
func TestIsErrorSources(t *testing.T) {
	f := newFixture(t)
	var nilErr error
	cases := []struct {
		name   string
		fields []slog.Attr
		event  []slog.Attr
		want   bool
	}{
		{"plain", nil, nil, false},
		{"error field", []slog.Attr{slog.String("error", "bad")}, nil, true},
		{"nil error field", []slog.Attr{slog.Any("error", nilErr)}, nil, false},
		{"status code", []slog.Attr{slog.String("otel.status_code", "ERROR")}, nil, true},
		{"entry 503", []slog.Attr{slog.String("otel.kind", "server"), slog.Int("http.status_code", 503)}, nil, true},
		{"entry 404", []slog.Attr{slog.String("otel.kind", "server"), slog.Int("http.status_code", 404)}, nil, false},
		{"exit 503", []slog.Attr{slog.String("otel.kind", "client"), slog.Int("http.status_code", 503)}, nil, false},
		{"event error", nil, []slog.Attr{slog.Any("error", errors.New("x"))}, true},
		{"event nil error", nil, []slog.Attr{slog.Any("error", nilErr)}, false},
	}
	for _, c := range cases {
		ctx, sp := f.tr.Start(context.Background(), c.name, c.fields...)
		if c.event != nil {
			f.tr.Info(ctx, "event", c.event...)
		}
		sp.End()
	}
	segs := f.rep.segments()
	for _, c := range cases {
		if got := spanNamed(t, segmentWith(t, segs, c.name), c.name).IsError; got != c.want {
			t.Errorf("%s: isError = %v, want %v", c.name, got, c.want)
		}
	}
}

// Span layers and components follow the fields; a WithComponent rule and the
// sw.component field override the defaults.
func TestLayersAndComponents(t *testing.T) {
	f := newFixture(t, WithComponent("db.system=mysql", 5012), WithComponent("http.client", 9999))
	cases := []struct {
		name      string
		fields    []slog.Attr
		layer     agentv3.SpanLayer
		component int32
		peer      string
	}{
		{"db", []slog.Attr{slog.String("db.system", "postgresql")}, agentv3.SpanLayer_Database, 0, ""},
		{"mysql", []slog.Attr{slog.String("otel.kind", "client"), slog.String("db.system", "mysql"),
			slog.String("server.address", "db"), slog.Int("server.port", 3306)}, agentv3.SpanLayer_Database, 5012, "db:3306"},
		{"grpc server", []slog.Attr{slog.String("otel.kind", "server"), slog.String("rpc.system", "grpc")}, agentv3.SpanLayer_RPCFramework, 23, ""},
		{"grpc client", []slog.Attr{slog.String("otel.kind", "client"), slog.String("rpc.system", "grpc"),
			slog.String("net.peer.name", "users"), slog.Int("net.peer.port", 50051)}, agentv3.SpanLayer_RPCFramework, 23, "users:50051"},
		{"mq", []slog.Attr{slog.String("otel.kind", "producer"), slog.String("messaging.system", "kafka")}, agentv3.SpanLayer_MQ, 0, ""},
		{"cache", []slog.Attr{slog.String("cache.key", "k")}, agentv3.SpanLayer_Cache, 0, ""},
		{"http client", []slog.Attr{slog.String("otel.kind", "client"), slog.String("http.method", "GET")}, agentv3.SpanLayer_Http, 9999, ""},
		{"override", []slog.Attr{slog.String("otel.kind", "client"), slog.String("http.method", "GET"), slog.Int("sw.component", 7)}, agentv3.SpanLayer_Http, 7, ""},
		{"local", []slog.Attr{slog.String("peer", "x:1")}, agentv3.SpanLayer_Unknown, 0, ""},
	}
	for _, c := range cases {
		_, sp := f.tr.Start(context.Background(), c.name, c.fields...)
		sp.End()
	}
	segs := f.rep.segments()
	for _, c := range cases {
		sp := spanNamed(t, segmentWith(t, segs, c.name), c.name)
		if sp.SpanLayer != c.layer || sp.ComponentId != c.component || sp.Peer != c.peer {
			t.Errorf("%s: layer %v component %d peer %q, want %v %d %q", c.name, sp.SpanLayer, sp.ComponentId, sp.Peer, c.layer, c.component, c.peer)
		}
		if _, ok := tags(sp)["sw.component"]; ok {
			t.Errorf("%s: sw.component became a tag", c.name)
		}
	}
}

// otel.name renames the operation, also when recorded after the start (a router that
// learns the route late), and the segment's endpoint follows.
func TestOperationNameFromOtelName(t *testing.T) {
	f := newFixture(t)
	ctx, root := f.tr.Start(context.Background(), "HTTP request", slog.String("otel.kind", "server"))
	root.Record(slog.String("otel.name", "GET /songs/{id}"))
	_, child := f.tr.Start(ctx, "child", slog.String("otel.name", "renamed child"))
	child.End()
	root.End()
	seg := f.only(t)
	if seg.Spans[0].OperationName != "GET /songs/{id}" || seg.Spans[1].OperationName != "renamed child" {
		t.Errorf("operation names %q, %q", seg.Spans[0].OperationName, seg.Spans[1].OperationName)
	}
}
