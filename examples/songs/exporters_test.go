package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"github.com/tinylib/msgp/msgp"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/strata-go/strata/layers/datadog"
	jaegerlayer "github.com/strata-go/strata/layers/jaeger"
	"github.com/strata-go/strata/layers/otlp"
)

// received is what the three fake backends got: span names by 32-hex trace id.
type received struct {
	mu     sync.Mutex
	otlp   map[string][]string
	jaeger map[string][]string
	dd     map[string][]string // by the 128-bit id rebuilt from _dd.p.tid and trace_id
	errs   []error
}

func (r *received) add(m map[string][]string, trace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m[trace] = append(m[trace], name)
}

func (r *received) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// startOTLP is an OTLP/HTTP collector on loopback that decodes what it is sent.
func startOTLP(t *testing.T, r *received) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var td tracepb.TracesData // the wire form of ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &td); err != nil {
			r.fail(fmt.Errorf("otlp: %w", err))
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range td.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					r.add(r.otlp, hex.EncodeToString(sp.GetTraceId()), sp.GetName())
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startJaegerAgent is a Jaeger agent on a loopback UDP port that decodes emitBatch.
func startJaegerAgent(t *testing.T, r *received) string {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			mem := thrift.NewTMemoryBuffer()
			mem.Write(buf[:n])
			p := thrift.NewTCompactProtocol(mem)
			args := agent.NewAgentEmitBatchArgs()
			if _, _, _, err := p.ReadMessageBegin(context.Background()); err != nil {
				r.fail(fmt.Errorf("jaeger: %w", err))
				continue
			}
			if err := args.Read(context.Background(), p); err != nil {
				r.fail(fmt.Errorf("jaeger: %w", err))
				continue
			}
			for _, sp := range args.Batch.GetSpans() {
				r.add(r.jaeger, jaegerTraceID(sp), sp.GetOperationName())
			}
		}
	}()
	return conn.LocalAddr().String()
}

func jaegerTraceID(sp *jaeger.Span) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(sp.GetTraceIdHigh()))
	binary.BigEndian.PutUint64(b[8:], uint64(sp.GetTraceIdLow()))
	return hex.EncodeToString(b[:])
}

// startDatadogAgent is a Datadog Agent on loopback that decodes PUT /v0.4/traces.
func startDatadogAgent(t *testing.T, r *received) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.URL.Path != "/v0.4/traces" {
			r.fail(fmt.Errorf("datadog: %s %s", req.Method, req.URL.Path))
			http.NotFound(w, req)
			return
		}
		v, _, err := msgp.ReadIntfBytes(body)
		if err != nil {
			r.fail(fmt.Errorf("datadog: %w", err))
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		traces, _ := v.([]any)
		for _, tr := range traces {
			spans, _ := tr.([]any)
			for _, s := range spans {
				m, _ := s.(map[string]any)
				meta, _ := m["meta"].(map[string]any)
				tid, _ := meta["_dd.p.tid"].(string)
				lo, _ := m["trace_id"].(uint64)
				name, _ := m["resource"].(string)
				r.add(r.dd, fmt.Sprintf("%016s%016x", tid, lo), name)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"rate_by_service":{}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// With OTLP, Jaeger and Datadog all configured in the environment, the demo sends every
// request's spans to the three of them, under the trace id its log lines print; the
// Datadog-style log fields carry the same trace in Datadog's decimal form.
func TestDemoExportsToOTLPJaegerAndDatadogAtOnce(t *testing.T) {
	r := &received{otlp: map[string][]string{}, jaeger: map[string][]string{}, dd: map[string][]string{}}
	t.Setenv("STRATA_LOG", "")
	t.Setenv(otlp.EnvEndpoint, startOTLP(t, r))
	t.Setenv(otlp.EnvProtocol, "http/protobuf")
	host, port, _ := net.SplitHostPort(startJaegerAgent(t, r))
	t.Setenv(jaegerlayer.EnvAgentHost, host)
	t.Setenv(jaegerlayer.EnvAgentPort, port)
	t.Setenv(datadog.EnvAgentURL, startDatadogAgent(t, r))
	for _, k := range []string{otlp.EnvServiceName, datadog.EnvService, "SW_AGENT_COLLECTOR_BACKEND_SERVICES"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	var out syncBuffer
	if err := run("", &out); err != nil {
		t.Fatal(err)
	}
	logs := out.b.String()
	// The request traces, from the entry spans' lines.
	entry := regexp.MustCompile(`span_name="POST /songs" .*span_event=close_span .*trace_id=([0-9a-f]{32})`)
	var traces []string
	for _, m := range entry.FindAllStringSubmatch(logs, -1) {
		traces = append(traces, m[1])
	}
	if len(traces) != 3 {
		t.Fatalf("%d request traces in the log, want 3:\n%s", len(traces), logs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		t.Errorf("backends could not decode what they got: %v", r.errs)
	}
	for _, tr := range traces {
		for backend, m := range map[string]map[string][]string{"otlp": r.otlp, "jaeger": r.jaeger, "datadog": r.dd} {
			names := m[tr]
			if !contains(names, "POST /songs") || !contains(names, "vendor.lastfm.task") {
				t.Errorf("%s got spans %v for trace %s, want the request's entry span and its vendor call", backend, names, tr)
			}
		}
		// The Datadog log fields: the decimal low half of the same trace.
		lo, _ := strconv.ParseUint(tr[16:], 16, 64)
		if !strings.Contains(logs, "dd.trace_id="+strconv.FormatUint(lo, 10)) {
			t.Errorf("no line carries dd.trace_id=%d (trace %s)", lo, tr)
		}
	}
	if !strings.Contains(logs, "dd.service=songs") {
		t.Errorf("no line carries dd.service=songs")
	}
}

func contains(names []string, want string) bool {
	for _, n := range names {
		if n == want {
			return true
		}
	}
	return false
}
