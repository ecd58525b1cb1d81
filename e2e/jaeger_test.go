package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/jaegerreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/strata-go/strata/layers/jaeger"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The Jaeger tests run the OpenTelemetry Collector contrib Jaeger receiver
// (receiver/jaegerreceiver) in this process with only its thrift_compact protocol, on
// 127.0.0.1 and a free UDP port: the agent's emitBatch endpoint, which decodes each
// datagram with the Jaeger Thrift types and translates the batch with the contrib
// Jaeger translator (pkg/translator/jaeger) into a consumertest.TracesSink. Unlike the
// SkyWalking receiver's gRPC server, its UDP server listens on the address its
// endpoint names, so these tests need no network namespace (TestJaegerReceiverGetsTheTrace
// checks the bound address).

// jaegerReceiver is a running contrib Jaeger receiver.
type jaegerReceiver struct {
	Addr string
	Sink *consumertest.TracesSink
	// Logs are the receiver's log entries: a datagram it cannot decode is logged as
	// "Processor failed" at error level.
	Logs *observer.ObservedLogs
}

func jaegerStartReceiver(t *testing.T) *jaegerReceiver {
	t.Helper()
	sink := new(consumertest.TracesSink)
	f := jaegerreceiver.NewFactory()
	core, logs := observer.New(zapcore.DebugLevel)
	var lastErr error
	for range 5 { // the free port can be taken between choosing and binding it
		cfg := f.CreateDefaultConfig().(*jaegerreceiver.Config)
		udp := cfg.ThriftCompactUDP.GetOrInsertDefault()
		udp.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(jaegerFreeUDPPort(t)))
		udp.QueueSize = 100_000        // the receiver drops datagrams silently beyond its queue
		udp.SocketBufferSize = 4 << 20 // fewer kernel drops in a burst (capped by net.core.rmem_max)
		set := receivertest.NewNopSettings(f.Type())
		set.Logger = zap.New(core)
		r, err := f.CreateTraces(context.Background(), set, cfg, sink)
		if err != nil {
			t.Fatalf("jaeger receiver: create: %v", err)
		}
		if lastErr = r.Start(context.Background(), componenttest.NewNopHost()); lastErr != nil {
			_ = r.Shutdown(context.Background())
			continue
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Shutdown(ctx); err != nil {
				t.Errorf("jaeger receiver: shutdown: %v", err)
			}
		})
		return &jaegerReceiver{Addr: udp.Endpoint, Sink: sink, Logs: logs}
	}
	t.Fatalf("jaeger receiver: start: %v", lastErr)
	return nil
}

func jaegerFreeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// jaegerSpans returns every span the sink received, with its resource.
type jaegerSpan struct {
	ptrace.Span
	Resource pcommon.Resource
}

func jaegerSpans(sink *consumertest.TracesSink) []jaegerSpan {
	var out []jaegerSpan
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					out = append(out, jaegerSpan{Span: ss.At(k), Resource: rs.Resource()})
				}
			}
		}
	}
	return out
}

// jaegerWaitSpans waits until the sink holds n spans: the layer was shut down before,
// so this only waits for the receiver's workers.
func jaegerWaitSpans(t *testing.T, sink *consumertest.TracesSink, n int) []jaegerSpan {
	t.Helper()
	spans := jaegerPollSpans(sink, n, 20*time.Second)
	if len(spans) < n {
		t.Fatalf("the receiver's sink holds %d spans, want %d", len(spans), n)
	}
	return spans
}

// jaegerPollSpans waits until the sink holds n spans or the time is up, and returns
// what it holds.
func jaegerPollSpans(sink *consumertest.TracesSink, n int, wait time.Duration) []jaegerSpan {
	deadline := time.Now().Add(wait)
	for {
		spans := jaegerSpans(sink)
		if len(spans) >= n || time.Now().After(deadline) {
			return spans
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jaegerKernelUDPDrops returns the datagrams the kernel dropped for a full socket
// receive buffer (RcvbufErrors in /proc/net/snmp, for this network namespace), and
// whether it could read it.
func jaegerKernelUDPDrops() (uint64, bool) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, false
	}
	var header []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, name := range header {
			if name == "RcvbufErrors" && i < len(f) {
				n, err := strconv.ParseUint(f[i], 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

func jaegerFind(t *testing.T, spans []jaegerSpan, name string) jaegerSpan {
	t.Helper()
	for _, s := range spans {
		if s.Name() == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d", name, len(spans))
	return jaegerSpan{}
}

var jaegerCloseLine = regexp.MustCompile(`span_name=([^ ]+) span=(\d+) .*span_event=close_span .*trace_id=([0-9a-f]{32})`)

// jaegerLogfmtIDs returns, by span name, the span id and trace id its close_span line
// prints.
func jaegerLogfmtIDs(out string) map[string][2]string {
	m := map[string][2]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if g := jaegerCloseLine.FindStringSubmatch(sc.Text()); g != nil {
			m[g[1]] = [2]string{g[2], g[3]}
		}
	}
	return m
}

// jaegerBoundAddress returns the local address of the UDP socket bound to port, from
// /proc/net/udp (Linux), or "" when it cannot tell.
func jaegerBoundAddress(port int) string {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return ""
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasSuffix(f[1], suffix) {
			h := strings.TrimSuffix(f[1], suffix)
			if len(h) != 8 {
				return h
			}
			v, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				return h
			}
			// The kernel prints the address in host byte order (little-endian here).
			return net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)).String()
		}
	}
	return ""
}

func TestJaegerReceiverGetsTheTrace(t *testing.T) {
	recv := jaegerStartReceiver(t)
	if runtime.GOOS == "linux" {
		_, port, _ := net.SplitHostPort(recv.Addr)
		p, _ := strconv.Atoi(port)
		if got := jaegerBoundAddress(p); got != "127.0.0.1" {
			t.Errorf("the receiver's UDP socket is bound to %q, want 127.0.0.1 only", got)
		}
	}
	jl, err := jaeger.New(jaeger.WithAgent(recv.Addr), jaeger.WithService("songs"), jaeger.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	d, err := subscriber.New(storage.New(), logfmt.New(&out), jl)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Tracer("songs/api")

	ctx, root := tr.Start(context.Background(), "request", slog.String("otel.kind", "server"),
		slog.String("http.method", "GET"), slog.Int("http.response.status_code", 200), slog.Float64("ratio", 0.5), slog.Bool("cached", true))
	cctx, child := tr.Start(ctx, "db.query", slog.String("otel.kind", "client"), slog.String("db.system", "postgresql"))
	tr.Info(cctx, "rows fetched", slog.Int("rows", 42), slog.Float64("ms", 1.25), slog.Bool("slow", false), slog.String("table", "songs"))
	_, grand := tr.Start(cctx, "parse")
	grand.EndErr(errors.New("bad row"))
	child.End()
	task := tr.Go(ctx, "notify", func(context.Context) error { return nil }, slog.String("otel.kind", "internal"))
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}

	spans := jaegerWaitSpans(t, recv.Sink, 4)
	ids := jaegerLogfmtIDs(out.String())
	req, db, parse, notify := jaegerFind(t, spans, "request"), jaegerFind(t, spans, "db.query"), jaegerFind(t, spans, "parse"), jaegerFind(t, spans, "notify")
	for _, s := range []jaegerSpan{req, db, parse, notify} {
		want := ids[s.Name()]
		if got := s.TraceID().String(); got != want[1] {
			t.Errorf("%s: the receiver's trace id %s, logfmt's trace_id=%s", s.Name(), got, want[1])
		}
		sid := s.SpanID()
		if got := strconv.FormatUint(uint64(sid[0])<<56|uint64(sid[1])<<48|uint64(sid[2])<<40|uint64(sid[3])<<32|
			uint64(sid[4])<<24|uint64(sid[5])<<16|uint64(sid[6])<<8|uint64(sid[7]), 10); got != want[0] {
			t.Errorf("%s: the receiver's span id %s, logfmt's span=%s", s.Name(), got, want[0])
		}
		if v, ok := s.Resource.Attributes().Get("service.name"); !ok || v.Str() != "songs" {
			t.Errorf("%s: service.name %v", s.Name(), v)
		}
	}

	// Parents.
	if !req.ParentSpanID().IsEmpty() {
		t.Errorf("request has parent %s", req.ParentSpanID())
	}
	if db.ParentSpanID() != req.SpanID() || parse.ParentSpanID() != db.SpanID() {
		t.Errorf("parents: db.query's %s (want %s), parse's %s (want %s)", db.ParentSpanID(), req.SpanID(), parse.ParentSpanID(), db.SpanID())
	}
	// The follows-from link. (The translator also takes a span's only same-trace
	// reference as its parent when it has no parent span id.)
	found := false
	for i := 0; i < notify.Links().Len(); i++ {
		l := notify.Links().At(i)
		rt, _ := l.Attributes().Get("opentracing.ref_type")
		if l.SpanID() == req.SpanID() && l.TraceID() == req.TraceID() && rt.Str() == "follows_from" {
			found = true
		}
	}
	if !found {
		t.Errorf("notify has no follows_from link to request (%d links)", notify.Links().Len())
	}
	if db.Links().Len() != 0 {
		t.Errorf("db.query has %d links: its CHILD_OF parent is not a link", db.Links().Len())
	}

	// Kinds and statuses.
	for s, want := range map[string]ptrace.SpanKind{"request": ptrace.SpanKindServer, "db.query": ptrace.SpanKindClient,
		"notify": ptrace.SpanKindInternal, "parse": ptrace.SpanKindUnspecified} {
		if got := jaegerFind(t, spans, s).Kind(); got != want {
			t.Errorf("%s: kind %v, want %v", s, got, want)
		}
	}
	if parse.Status().Code() != ptrace.StatusCodeError || parse.Status().Message() != "bad row" {
		t.Errorf("parse: status %v %q, want Error \"bad row\"", parse.Status().Code(), parse.Status().Message())
	}
	for _, s := range []jaegerSpan{req, db, notify} {
		if s.Status().Code() != ptrace.StatusCodeUnset {
			t.Errorf("%s: status %v, want unset", s.Name(), s.Status().Code())
		}
	}

	// Attribute types.
	type want struct {
		typ pcommon.ValueType
		v   string
	}
	check := func(where string, attrs pcommon.Map, w map[string]want) {
		t.Helper()
		for k, w := range w {
			v, ok := attrs.Get(k)
			if !ok {
				t.Errorf("%s: no attribute %s", where, k)
				continue
			}
			if v.Type() != w.typ || v.AsString() != w.v {
				t.Errorf("%s: %s = %v %q, want %v %q", where, k, v.Type(), v.AsString(), w.typ, w.v)
			}
		}
	}
	check("request", req.Attributes(), map[string]want{
		"http.method":               {pcommon.ValueTypeStr, "GET"},
		"http.response.status_code": {pcommon.ValueTypeInt, "200"},
		"ratio":                     {pcommon.ValueTypeDouble, "0.5"},
		"cached":                    {pcommon.ValueTypeBool, "true"},
	})
	if _, ok := req.Attributes().Get("otel.kind"); ok {
		t.Errorf("request carries otel.kind as an attribute")
	}

	// Events.
	if db.Events().Len() != 1 {
		t.Fatalf("db.query: %d events, want 1", db.Events().Len())
	}
	ev := db.Events().At(0)
	if ev.Name() != "rows fetched" {
		t.Errorf("event name %q", ev.Name())
	}
	if ev.Timestamp() < db.StartTimestamp() || ev.Timestamp() > db.EndTimestamp() {
		t.Errorf("event at %v outside its span %v..%v", ev.Timestamp(), db.StartTimestamp(), db.EndTimestamp())
	}
	check("event", ev.Attributes(), map[string]want{
		"rows":  {pcommon.ValueTypeInt, "42"},
		"ms":    {pcommon.ValueTypeDouble, "1.25"},
		"slow":  {pcommon.ValueTypeBool, "false"},
		"table": {pcommon.ValueTypeStr, "songs"},
		"level": {pcommon.ValueTypeStr, "INFO"},
	})

	if errs := recv.Logs.FilterLevelExact(zapcore.ErrorLevel).All(); len(errs) > 0 {
		t.Errorf("the receiver logged errors: %v", errs)
	}
	if st := jl.Stats(); st.Sent != 4 || st.Failed+st.Dropped != 0 {
		t.Errorf("stats %+v, want 4 sent", st)
	}
}

func TestJaegerReceiverAcceptsEveryDatagram(t *testing.T) {
	recv := jaegerStartReceiver(t)
	dropsBefore, canCountDrops := jaegerKernelUDPDrops()
	jl, err := jaeger.New(jaeger.WithAgent(recv.Addr), jaeger.WithService("flood"),
		jaeger.WithQueueSize(64), jaeger.WithBatchSize(32), jaeger.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("flood")

	// An oversized span: a 200 kB field and 100 events of 1 kB.
	ctx, big := tr.Start(context.Background(), "oversized", slog.String("blob", strings.Repeat("b", 200_000)))
	for i := range 100 {
		tr.Info(ctx, "tick", slog.Int("i", i), slog.String("payload", strings.Repeat("p", 1000)))
	}
	big.End()
	// Spans of about 2 kB, 32 to a send: datagrams come close to the 65000-byte limit.
	for i := range 300 {
		_, s := tr.Start(context.Background(), "kilo", slog.Int("i", i), slog.String("pad", strings.Repeat("k", 2000)))
		s.End()
		if i%50 == 49 { // within the queue
			if err := jl.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A flood beyond the queue, from several goroutines.
	const workers, each = 4, 5000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, s := tr.Start(context.Background(), "flood")
				s.End()
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select { // a hang detector, not a timing assertion
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("ending spans blocked")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}

	st := jl.Stats()
	total := uint64(1 + 300 + workers*each)
	if st.Spans != total || st.Sent+st.Dropped+st.Failed != total || st.Failed != 0 {
		t.Errorf("stats %+v: want %d spans, each sent or dropped", st, total)
	}
	if st.Dropped == 0 || st.Truncated != 1 || st.TooLarge != 0 {
		t.Errorf("stats %+v: want some dropped and the oversized span truncated", st)
	}
	// UDP on loopback loses datagrams only when the receiving socket's buffer is full:
	// the kernel counts those, and they never reached the receiver, so it could not
	// have rejected them. Every other datagram must arrive and decode.
	spans := jaegerPollSpans(recv.Sink, int(st.Sent), 20*time.Second)
	if uint64(len(spans)) != st.Sent {
		dropsAfter, ok := jaegerKernelUDPDrops()
		if !canCountDrops || !ok || dropsAfter == dropsBefore {
			t.Fatalf("the receiver got %d spans, the layer sent %d, and the kernel dropped no datagram", len(spans), st.Sent)
		}
		t.Logf("the receiver got %d of the %d spans sent: the kernel dropped %d datagrams for a full receive buffer (this machine's, any process's)",
			len(spans), st.Sent, dropsAfter-dropsBefore)
	}
	over := jaegerFind(t, spans, "oversized")
	if v, ok := over.Attributes().Get("strata.truncated"); !ok || v.Type() != pcommon.ValueTypeBool || !v.Bool() {
		t.Errorf("oversized: strata.truncated %v", v)
	}
	if over.Events().Len() != 0 {
		t.Errorf("oversized kept %d events", over.Events().Len())
	}
	if errs := recv.Logs.FilterLevelExact(zapcore.ErrorLevel).All(); len(errs) > 0 {
		t.Errorf("the receiver rejected datagrams: %v", errs[0].Message)
	}
}
