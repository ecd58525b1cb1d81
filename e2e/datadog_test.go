package e2e

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gologfmt "github.com/go-logfmt/logfmt"
	ddreceiver "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/datadogreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The Datadog Agent of these tests is the OpenTelemetry Collector contrib Datadog
// receiver (receiver/datadogreceiver), which serves the Agent's trace API and
// translates Datadog spans to OpenTelemetry spans into a consumertest.TracesSink. Its
// 128-bit trace id support (rebuilding the id from trace_id and _dd.p.tid) is behind the
// feature gate receiver.datadogreceiver.Enable128BitTraceID, which these tests enable.
// The receiver listens on the endpoint it is given, 127.0.0.1:<port>.

const ddGate = "receiver.datadogreceiver.Enable128BitTraceID"

// ddEnableGate enables the receiver's 128-bit trace id support for the test.
func ddEnableGate(t *testing.T) {
	t.Helper()
	reg := featuregate.GlobalRegistry()
	was := false
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == ddGate {
			was = g.IsEnabled()
		}
	})
	if err := reg.Set(ddGate, true); err != nil {
		t.Fatalf("enable %s: %v", ddGate, err)
	}
	t.Cleanup(func() { _ = reg.Set(ddGate, was) })
}

// ddStartReceiver runs the contrib Datadog receiver in this process on 127.0.0.1 and
// returns its URL and sink; t.Cleanup stops it.
func ddStartReceiver(t *testing.T) (string, *consumertest.TracesSink) {
	t.Helper()
	ddEnableGate(t)
	sink := new(consumertest.TracesSink)
	f := ddreceiver.NewFactory()
	var lastErr error
	for range 5 { // the free port can be taken between choosing and binding it
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		cfg := f.CreateDefaultConfig().(*ddreceiver.Config)
		cfg.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		if err != nil {
			t.Fatalf("datadog receiver: create: %v", err)
		}
		if lastErr = r.Start(context.Background(), componenttest.NewNopHost()); lastErr != nil {
			_ = r.Shutdown(context.Background())
			continue
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Shutdown(ctx); err != nil {
				t.Errorf("datadog receiver: shutdown: %v", err)
			}
		})
		if got := ddBoundAddress(port); got != "" && got != "127.0.0.1" {
			t.Errorf("the datadog receiver listens on %s:%d, want 127.0.0.1 only", got, port)
		} else {
			t.Logf("the datadog receiver listens on %q port %d (/proc/net/tcp)", got, port)
		}
		return "http://" + cfg.Endpoint, sink
	}
	t.Fatalf("datadog receiver: start: %v", lastErr)
	return "", nil
}

// ddBoundAddress is the local address of the TCP listener on port, from /proc/net/tcp
// ("" when it cannot tell).
func ddBoundAddress(port int) string {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return ""
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1], suffix) { // 0A: LISTEN
			h := strings.TrimSuffix(f[1], suffix)
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil || len(h) != 8 {
				return h
			}
			return net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)).String()
		}
	}
	return ""
}

// ddSpan is an OpenTelemetry span the receiver produced, with its service.
type ddSpan struct {
	service string
	span    ptrace.Span
}

func ddSpans(sink *consumertest.TracesSink) []ddSpan {
	var out []ddSpan
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					out = append(out, ddSpan{svc.AsString(), ss.Spans().At(k)})
				}
			}
		}
	}
	return out
}

// ddFind returns the span whose Datadog resource is resource.
func ddFind(t *testing.T, spans []ddSpan, resource string) ptrace.Span {
	t.Helper()
	for _, s := range spans {
		if v, ok := s.span.Attributes().Get("dd.span.Resource"); ok && v.AsString() == resource {
			return s.span
		}
	}
	t.Fatalf("no span with resource %q among %d", resource, len(spans))
	return ptrace.Span{}
}

func ddAttr(s ptrace.Span, k string) string {
	v, ok := s.Attributes().Get(k)
	if !ok {
		return "<none>"
	}
	return v.AsString()
}

// ddLines decodes logfmt output into one map per line, failing on a syntax error or a
// key written twice.
func ddLines(t *testing.T, out string) []map[string]string {
	t.Helper()
	dec := gologfmt.NewDecoder(strings.NewReader(out))
	var lines []map[string]string
	for dec.ScanRecord() {
		m := map[string]string{}
		for dec.ScanKeyval() {
			if _, dup := m[string(dec.Key())]; dup {
				t.Errorf("key %s twice in a line", dec.Key())
			}
			m[string(dec.Key())] = string(dec.Value())
		}
		lines = append(lines, m)
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("logfmt output does not decode: %v\n%s", err, out)
	}
	return lines
}

// A request with nested spans, an error and HTTP fields reaches the contrib Datadog
// receiver as one trace: the receiver's 128-bit trace id is the trace_id of the logfmt
// lines, whose dd.trace_id is its decimal lower half; the parents, the error status and
// error.* attributes, and the HTTP attributes are what was recorded.
func TestDDReceiverGetsTheTraceLogsJoin(t *testing.T) {
	url, sink := ddStartReceiver(t)
	var logs syncBuffer
	dd, err := datadog.New(datadog.WithAgentURL(url), datadog.WithService("checkout"), datadog.WithEnv("e2e"),
		datadog.WithVersion("1.0.0"), datadog.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dd.Shutdown(context.Background()) }) // after a failure: stop its goroutine
	d, err := subscriber.New(storage.New(),
		logfmt.New(&logs, logfmt.WithDatadog("checkout", "e2e", "1.0.0"), logfmt.WithoutLocation()), dd)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Tracer("checkout/orders")

	ctx, root := tr.Start(context.Background(), "GET /orders/{id}", slog.String("otel.kind", "server"),
		slog.String("http.method", "GET"), slog.String("http.route", "/orders/{id}"),
		slog.String("http_url", "http://shop/orders/42"))
	lctx, load := tr.Start(ctx, "orders.load", slog.String("db.system", "postgresql"),
		slog.String("db.statement", "SELECT * FROM orders WHERE id = $1"))
	pctx, price := tr.Start(lctx, "orders.price")
	tr.Error(pctx, "pricing failed", slog.String("error_msg", "no price for sku 42"),
		slog.String("error_stack", "pricing.Lookup\n\tpricing.go:88"), slog.String("error_type", "pricing.NotFound"))
	price.End()
	load.End()
	root.Record(slog.Int("http.status_code", 500))
	root.End()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a live receiver: %v", err)
	}
	if st := dd.Stats(); st.Sent != 3 || st.Dropped+st.Failed != 0 {
		t.Errorf("stats %+v, want 3 sent and nothing lost", st)
	}

	spans := ddSpans(sink)
	if len(spans) != 3 {
		t.Fatalf("the receiver produced %d spans, want 3", len(spans))
	}
	web := ddFind(t, spans, "GET /orders/{id}")
	sql := ddFind(t, spans, "SELECT * FROM orders WHERE id = $1")
	failed := ddFind(t, spans, "orders.price")

	// The logs: every line in the trace shows the same trace_id and its dd.trace_id.
	lines := ddLines(t, logs.String())
	traceHex := ""
	spanOfLine := map[string]map[string]string{}
	for _, l := range lines {
		if l["dd.service"] != "checkout" || l["dd.env"] != "e2e" || l["dd.version"] != "1.0.0" {
			t.Errorf("line without dd.service/env/version: %v", l)
		}
		if traceHex == "" {
			traceHex = l["trace_id"]
		}
		if l["trace_id"] != traceHex {
			t.Errorf("line with trace_id %s, want %s", l["trace_id"], traceHex)
		}
		if l["span_event"] == "close_span" {
			spanOfLine[l["span_name"]] = l
		}
	}
	raw, err := hex.DecodeString(traceHex)
	if err != nil || len(raw) != 16 {
		t.Fatalf("logfmt trace_id %q is not 128-bit hex", traceHex)
	}
	lower := strconv.FormatUint(binary.BigEndian.Uint64(raw[8:]), 10)
	for _, l := range lines {
		if l["dd.trace_id"] != lower {
			t.Errorf("line dd.trace_id %s, want %s, the lower half of %s: %v", l["dd.trace_id"], lower, traceHex, l)
		}
	}

	for name, s := range map[string]ptrace.Span{"GET /orders/{id}": web, "orders.load": sql, "orders.price": failed} {
		if got := s.TraceID().String(); got != traceHex {
			t.Errorf("%s: the receiver's trace id %s, want logfmt's %s", name, got, traceHex)
		}
		if got := ddAttr(s, "datadog.trace.id"); got != lower {
			t.Errorf("%s: datadog.trace.id %s, want logfmt's dd.trace_id %s", name, got, lower)
		}
		l := spanOfLine[name]
		id := s.SpanID()
		if l == nil || l["dd.span_id"] != strconv.FormatUint(binary.BigEndian.Uint64(id[:]), 10) || l["span"] != l["dd.span_id"] {
			t.Errorf("%s: span id %s, its close_span line %v", name, s.SpanID(), l)
		}
	}
	if !web.ParentSpanID().IsEmpty() || sql.ParentSpanID() != web.SpanID() || failed.ParentSpanID() != sql.SpanID() {
		t.Errorf("parents: web %s→%s, sql %s→%s, price %s→%s", web.SpanID(), web.ParentSpanID(), sql.SpanID(), sql.ParentSpanID(),
			failed.SpanID(), failed.ParentSpanID())
	}

	if web.Kind() != ptrace.SpanKindServer || web.Name() != "http.request" {
		t.Errorf("server span: kind %v name %q", web.Kind(), web.Name())
	}
	for k, want := range map[string]string{"http.request.method": "GET", "http.route": "/orders/{id}",
		"http.response.status_code": "500", "url.full": "http://shop/orders/42"} {
		if got := ddAttr(web, k); got != want {
			t.Errorf("server span %s = %q, want %q", k, got, want)
		}
	}
	if failed.Status().Code() != ptrace.StatusCodeError {
		t.Errorf("failed span status %v, want Error", failed.Status().Code())
	}
	for k, want := range map[string]string{"error.message": "no price for sku 42", "error.stack": "pricing.Lookup\n\tpricing.go:88",
		"error.type": "pricing.NotFound"} {
		if got := ddAttr(failed, k); got != want {
			t.Errorf("failed span %s = %q, want %q", k, got, want)
		}
	}
	if web.Status().Code() == ptrace.StatusCodeError || sql.Status().Code() == ptrace.StatusCodeError {
		t.Errorf("statuses: web %v sql %v, want not Error", web.Status().Code(), sql.Status().Code())
	}
	if ddAttr(sql, "db.system") != "postgresql" {
		t.Errorf("db span db.system %q", ddAttr(sql, "db.system"))
	}
}

// A call between two services composed with the Datadog layer, through
// instrument/nethttp, is one trace at the receiver: the server span's parent is the
// client span, in the same 128-bit trace.
func TestDDPropagationRoundTripMakesOneTrace(t *testing.T) {
	url, sink := ddStartReceiver(t)
	newSvc := func(name string) (*subscriber.Dispatch, *subscriber.Tracer) {
		dd, err := datadog.New(datadog.WithAgentURL(url), datadog.WithService(name), datadog.WithLogf(t.Logf))
		if err != nil {
			t.Fatal(err)
		}
		d, err := subscriber.New(storage.New(), dd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dd.Shutdown(context.Background()) }) // after a failure: stop its goroutine
		return d, d.Tracer(name)
	}
	front, ftr := newSvc("front")
	back, btr := newSvc("back")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		_, s := btr.Start(r.Context(), "stock.count")
		s.End()
		_, _ = io.WriteString(w, "3")
	})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(back)))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(front))}
	ctx, caller := ftr.Start(context.Background(), "checkout")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stock/42", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	caller.End()
	srv.Close()
	for _, d := range []*subscriber.Dispatch{front, back} {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := d.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
	}

	spans := ddSpans(sink)
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	var client, server ptrace.Span
	traces := map[string]bool{}
	for _, s := range spans {
		traces[s.span.TraceID().String()] = true
		switch {
		case s.service == "front" && s.span.Kind() == ptrace.SpanKindClient:
			client = s.span
		case s.service == "back" && s.span.Kind() == ptrace.SpanKindServer:
			server = s.span
		}
	}
	if len(traces) != 1 {
		t.Errorf("%d trace ids, want one: %v", len(traces), traces)
	}
	if client.SpanID().IsEmpty() || server.ParentSpanID() != client.SpanID() {
		t.Errorf("server span's parent %s, want the client span %s", server.ParentSpanID(), client.SpanID())
	}
	if ddAttr(server, "dd.span.Resource") != "GET /stock/{sku}" {
		t.Errorf("server resource %q", ddAttr(server, "dd.span.Resource"))
	}
}
