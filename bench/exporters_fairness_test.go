package bench

// The exporter rows deliver what they claim: every span of a few hundred reaches the
// row's sink, decoded there by a reference decoder (the generated OTLP protobuf code;
// jaeger-client-go's generated Thrift code, for both Jaeger rows; for Datadog this
// package's msgpack reader, which neither sender uses), as a span named op with
// http.route="/songs" and song.id=42 and the service "bench". The decoded count must
// equal the sinks' own count (the no-allocation walks the benchmarks use), so the
// drop-% the benchmarks report rests on a checked count. The test log says what else each side sends per
// span and per request, so that a reader can see what the rows' bytes are made of.
//
// UDP: each Jaeger test sends 300 small spans, a few datagrams of at most 64 KiB, to
// a socket whose receive buffer is at least the kernel's default (208 KiB here, 4 MiB
// asked): they fit in the buffer even if the reader has not run yet, and loopback
// loses datagrams only when that buffer overflows, so the count is asserted exactly.
// The benchmarks, which send hundreds of thousands, report whatever the sink missed
// as drop-%.

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uber/jaeger-client-go/thrift"
	"github.com/uber/jaeger-client-go/thrift-gen/agent"
	jaegerthrift "github.com/uber/jaeger-client-go/thrift-gen/jaeger"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

const fairSpans = 300

// strataExportN sends n spans through storage + the layer and flushes it.
func strataExportN(t *testing.T, l exportLayer, n int) {
	t.Helper()
	ctx := context.Background()
	tr := exportTracer(t, l)
	for range n {
		strataExportSpan(ctx, tr)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.flush(fctx); err != nil {
		t.Fatalf("flush: %v (stats %s)", err, l.stats())
	}
}

// --- OTLP ---------------------------------------------------------------------------

// otlpSeen collects what an OTLP sink decoded.
type otlpSeen struct {
	mu       sync.Mutex
	requests int
	resource map[string]string
	scope    string
	spans    []otlpSpan
}

type otlpSpan struct {
	name         string
	traceID      []byte
	spanID       []byte
	kind         string
	attrs        map[string]*commonpb.AnyValue
	hasStartTime bool
}

func (o *otlpSeen) keep(req *coltracepb.ExportTraceServiceRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests++
	for _, rs := range req.GetResourceSpans() {
		o.resource = map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			o.resource[kv.GetKey()] = anyString(kv.GetValue())
		}
		for _, ss := range rs.GetScopeSpans() {
			o.scope = ss.GetScope().GetName() + " " + ss.GetScope().GetVersion()
			for _, sp := range ss.GetSpans() {
				s := otlpSpan{name: sp.GetName(), traceID: sp.GetTraceId(), spanID: sp.GetSpanId(),
					kind: sp.GetKind().String(), attrs: map[string]*commonpb.AnyValue{},
					hasStartTime: sp.GetStartTimeUnixNano() != 0 && sp.GetEndTimeUnixNano() >= sp.GetStartTimeUnixNano()}
				for _, kv := range sp.GetAttributes() {
					s.attrs[kv.GetKey()] = kv.GetValue()
				}
				o.spans = append(o.spans, s)
			}
		}
	}
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	}
	return v.String()
}

// check checks n spans, each op with the two attributes typed as sent, a 16-byte
// trace id and an 8-byte span id, under service.name bench, and logs the rest.
func (o *otlpSeen) check(t *testing.T, who string, sink *otlpSink, n int) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.spans) != n || sink.spans() != int64(n) {
		t.Fatalf("%s: the sink decoded %d spans and counted %d, want %d", who, len(o.spans), sink.spans(), n)
	}
	if o.resource["service.name"] != "bench" {
		t.Errorf("%s: resource %v, want service.name=bench", who, o.resource)
	}
	for i, s := range o.spans {
		if s.name != expSpanName || s.attrs[expStrKey].GetStringValue() != expStrVal ||
			s.attrs[expIntKey].GetIntValue() != expIntVal || len(s.traceID) != 16 || len(s.spanID) != 8 || !s.hasStartTime {
			t.Fatalf("%s span %d: %+v", who, i, s)
		}
	}
	t.Logf("%s sends %d spans in %d requests; resource %v; scope %q; per span: kind %s, attributes %v",
		who, n, o.requests, o.resource, o.scope, o.spans[0].kind, slices.Sorted(maps.Keys(o.spans[0].attrs)))
}

// Both rows of OTLPSpan deliver every span to their TraceService.
func TestOTLPSpanRowsDeliverEverySpan(t *testing.T) {
	var strata otlpSeen
	sink := startOTLPSink(t, strata.keep)
	strataExportN(t, newOTLPLayer(t, sink.addr), fairSpans)
	strata.check(t, "strata", sink, fairSpans)

	var sdk otlpSeen
	peer := startOTLPSink(t, sdk.keep)
	tp := otelOTLPProvider(t, peer.addr)
	tr := tp.Tracer("bench")
	for range fairSpans {
		otelExportSpan(context.Background(), tr)
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	sdk.check(t, "otel_sdk_batch", peer, fairSpans)
}

// --- Jaeger -------------------------------------------------------------------------

// jaegerSeen decodes the datagrams a Jaeger sink received with jaeger-client-go's
// generated Thrift code.
type jaegerSeen struct {
	mu        sync.Mutex
	datagrams [][]byte
}

func (j *jaegerSeen) keep(b []byte) {
	j.mu.Lock()
	j.datagrams = append(j.datagrams, b)
	j.mu.Unlock()
}

func decodeEmitBatch(b []byte) (*jaegerthrift.Batch, error) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBufferLen(len(b))
	if _, err := buf.Write(b); err != nil {
		return nil, err
	}
	p := thrift.NewTCompactProtocol(buf)
	name, _, _, err := p.ReadMessageBegin(ctx)
	if err != nil {
		return nil, err
	}
	if name != "emitBatch" {
		return nil, fmt.Errorf("method %q, want emitBatch", name)
	}
	args := agent.NewAgentEmitBatchArgs()
	if err := args.Read(ctx, p); err != nil {
		return nil, err
	}
	return args.GetBatch(), nil
}

func jaegerTags(tags []*jaegerthrift.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		switch {
		case tg.VStr != nil:
			m[tg.Key] = *tg.VStr
		case tg.VLong != nil:
			m[tg.Key] = fmt.Sprint(*tg.VLong)
		case tg.VBool != nil:
			m[tg.Key] = fmt.Sprint(*tg.VBool)
		case tg.VDouble != nil:
			m[tg.Key] = fmt.Sprint(*tg.VDouble)
		default:
			m[tg.Key] = fmt.Sprintf("%x", tg.VBinary)
		}
	}
	return m
}

// check waits for the sink to count n spans, decodes every datagram and checks n spans
// named op with the two tags typed as sent (a string and a long) and a 128-bit trace
// id, from service bench; it logs what else each side sends.
func (j *jaegerSeen) check(t *testing.T, who string, sink *jaegerSink, n int) {
	t.Helper()
	if !waitSpans(sink, int64(n), 5*time.Second) {
		t.Errorf("%s: the sink counted %d spans in %d datagrams (%d malformed), want %d",
			who, sink.spans(), sink.datagrams.Load(), sink.malformed.Load(), n)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var spans []*jaegerthrift.Span
	var process *jaegerthrift.Process
	for i, d := range j.datagrams {
		batch, err := decodeEmitBatch(d)
		if err != nil {
			t.Fatalf("%s: datagram %d: %v", who, i, err)
		}
		c, err := thriftSpanCount(d)
		if err != nil || c != len(batch.GetSpans()) {
			t.Fatalf("%s: datagram %d: thriftSpanCount %d, %v; decoded %d spans", who, i, c, err, len(batch.GetSpans()))
		}
		process = batch.GetProcess()
		spans = append(spans, batch.GetSpans()...)
	}
	if len(spans) != n {
		t.Fatalf("%s: decoded %d spans, want %d", who, len(spans), n)
	}
	if process.GetServiceName() != "bench" {
		t.Errorf("%s: service %q, want bench", who, process.GetServiceName())
	}
	for i, sp := range spans {
		var str, long bool
		for _, tg := range sp.GetTags() {
			str = str || tg.Key == expStrKey && tg.VType == jaegerthrift.TagType_STRING && tg.GetVStr() == expStrVal
			long = long || tg.Key == expIntKey && tg.VType == jaegerthrift.TagType_LONG && tg.GetVLong() == expIntVal
		}
		if sp.GetOperationName() != expSpanName || !str || !long || sp.GetTraceIdHigh() == 0 || sp.GetParentSpanId() != 0 {
			t.Fatalf("%s span %d: %v", who, i, sp)
		}
	}
	t.Logf("%s sends %d spans in %d datagrams (%d bytes on average); process tags %v; per span: tags %v, %d logs, %d references",
		who, n, len(j.datagrams), sumLen(j.datagrams)/len(j.datagrams), jaegerTags(process.GetTags()),
		jaegerTags(spans[0].GetTags()), len(spans[0].GetLogs()), len(spans[0].GetReferences()))
}

func sumLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// The jaeger_client_go row delivers every span to its UDP socket (the strata row:
// exporters_layers_test.go; the OTLP row is checked above).
func TestJaegerSpanClientRowDeliversEverySpan(t *testing.T) {
	var client jaegerSeen
	peer := startJaegerSink(t, client.keep)
	c := newJaegerClient(t, peer.addr)
	for range fairSpans {
		jaegerClientSpan(c.tr)
	}
	c.close() // writes what the reporter holds: it has no Flush
	client.check(t, "jaeger_client_go", peer, fairSpans)
}

// --- Datadog ------------------------------------------------------------------------

// ddSpans decodes /v0.4/traces bodies into their spans.
type ddSpans struct {
	mu     sync.Mutex
	bodies int
	spans  []map[string]any
	err    error
}

func (d *ddSpans) keep(body []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bodies++
	traces, rest, err := msgpackRead(body, true)
	if err != nil || len(rest) != 0 {
		d.err = fmt.Errorf("body: %v, %d bytes left", err, len(rest))
		return
	}
	for _, tr := range traces.([]any) {
		for _, sp := range tr.([]any) {
			d.spans = append(d.spans, sp.(map[string]any))
		}
	}
}

// ddCheckSpans checks n spans named op of service bench, with the string attribute in
// meta and the int in metrics, and logs what else they carry.
func ddCheckSpans(t *testing.T, who string, agent *ddAgent, d *ddSpans, n int) {
	t.Helper()
	if !waitSpans(agent, int64(n), 10*time.Second) {
		t.Errorf("%s: the agent counted %d spans (%d malformed bodies), want %d", who, agent.spans(), agent.malformed.Load(), n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		t.Fatalf("%s: %v", who, d.err)
	}
	if len(d.spans) != n {
		t.Fatalf("%s: the agent decoded %d spans, want %d", who, len(d.spans), n)
	}
	for i, sp := range d.spans {
		meta, _ := sp["meta"].(map[string]any)
		metrics, _ := sp["metrics"].(map[string]any)
		if sp["name"] != expSpanName || sp["service"] != "bench" || meta[expStrKey] != expStrVal || toFloat(metrics[expIntKey]) != expIntVal {
			t.Fatalf("%s span %d: %v", who, i, sp)
		}
	}
	sp := d.spans[0]
	t.Logf("%s sends %d spans in %d requests (%d other requests); per span: fields %v, meta %v, metrics %v", who, n,
		d.bodies, agent.other.Load(), slices.Sorted(maps.Keys(sp)), sp["meta"], sp["metrics"])
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return -1
}

// --- The wire walks -----------------------------------------------------------------

// A truncated or corrupted datagram or body is an error for the sinks' walks, never a
// panic or a wrong count presented as right.
func TestExporterSinkWalksRejectDamagedInput(t *testing.T) {
	var seen jaegerSeen
	jsink := startJaegerSink(t, seen.keep)
	c := newJaegerClient(t, jsink.addr)
	for range 5 {
		jaegerClientSpan(c.tr)
	}
	c.close()
	if !waitSpans(jsink, 5, 5*time.Second) {
		t.Fatalf("the sink counted %d spans, want 5", jsink.spans())
	}
	seen.mu.Lock()
	datagram := seen.datagrams[0]
	seen.mu.Unlock()
	want, err := thriftSpanCount(datagram)
	if err != nil || want != 5 {
		t.Fatalf("thriftSpanCount = %d, %v; want 5", want, err)
	}
	for i := range len(datagram) - 1 {
		// A prefix that reaches the spans' list header counts right (the walk stops
		// there); a shorter one must fail.
		n, err := thriftSpanCount(datagram[:i])
		if err == nil && n != want || err != nil && i > 200 {
			t.Errorf("thriftSpanCount(first %d bytes) = %d, %v", i, n, err)
		}
		if i < 16 && err == nil {
			t.Errorf("thriftSpanCount(first %d bytes) = %d, nil", i, n)
		}
	}
	if _, err := thriftSpanCount(append([]byte{0x80}, datagram[1:]...)); err == nil {
		t.Error("a datagram that is not compact protocol: no error")
	}

	// A /v0.4/traces body: 2 traces of 1 and 2 spans.
	body := []byte{0x92, 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa2, 'o', 'p',
		0x92, 0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa2, 'o', 'p', 0x80}
	if n, err := msgpackSpanCount(body); n != 3 || err != nil {
		t.Fatalf("msgpackSpanCount = %d, %v; want 3", n, err)
	}
	for i := range len(body) - 1 {
		if n, err := msgpackSpanCount(body[:i]); err == nil {
			t.Errorf("msgpackSpanCount(first %d bytes) = %d, nil", i, n)
		}
	}
	if _, err := msgpackSpanCount(append(bytes.Clone(body), 0xc0)); err == nil {
		t.Error("trailing bytes: no error")
	}
	if _, err := msgpackSpanCount([]byte{0x91, 0xc1}); err == nil {
		t.Error("an array of a non-array: no error")
	}
}
