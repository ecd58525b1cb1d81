package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	gologfmt "github.com/go-logfmt/logfmt"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/otlp"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// The OTLP peer of these tests is the OpenTelemetry Collector's own OTLP receiver
// (go.opentelemetry.io/collector/receiver/otlpreceiver), run in this process through
// its factory, with its gRPC and HTTP servers on 127.0.0.1 (unlike the SkyWalking
// receiver, it listens on exactly the host its endpoint names: configgrpc's
// NetAddr.Listen and confighttp's ToListener bind the endpoint as given). What it
// receives goes to a consumertest.TracesSink, as pdata: what any Collector pipeline,
// Jaeger v2 or Tempo would get.

// otlpReceiver is a running OTLP receiver.
type otlpReceiver struct {
	GRPC string // host:port
	HTTP string // http://host:port
	Sink *consumertest.TracesSink
}

// otlpStartReceiver starts the receiver on free 127.0.0.1 ports and stops it in
// t.Cleanup. With hold, each request waits (before reaching the sink) until release is
// called.
func otlpStartReceiver(t testing.TB, hold bool) (r *otlpReceiver, release func()) {
	t.Helper()
	sink := new(consumertest.TracesSink)
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	var next consumer.Traces = sink
	if hold {
		var err error
		next, err = consumer.NewTraces(func(ctx context.Context, td ptrace.Traces) error {
			select {
			case <-held:
			case <-ctx.Done():
				return ctx.Err()
			}
			return sink.ConsumeTraces(ctx, td)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	f := otlpreceiver.NewFactory()
	var lastErr error
	for range 5 { // a free port can be taken between choosing and binding it
		cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
		grpcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(otlpFreePort(t)))
		httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(otlpFreePort(t)))
		cfg.GRPC.GetOrInsertDefault().NetAddr.Endpoint = grpcAddr
		cfg.HTTP.GetOrInsertDefault().ServerConfig.Endpoint = httpAddr
		rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
		if err != nil {
			t.Fatalf("otlp receiver: create: %v", err)
		}
		if lastErr = rcv.Start(context.Background(), componenttest.NewNopHost()); lastErr != nil {
			_ = rcv.Shutdown(context.Background())
			continue
		}
		t.Cleanup(func() {
			release()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := rcv.Shutdown(ctx); err != nil {
				t.Errorf("otlp receiver: shutdown: %v", err)
			}
		})
		return &otlpReceiver{GRPC: grpcAddr, HTTP: "http://" + httpAddr, Sink: sink}, release
	}
	t.Fatalf("otlp receiver: start: %v", lastErr)
	return nil, nil
}

func otlpFreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// otlpLogfmtSpan is what a close_span line says of a span.
type otlpLogfmtSpan struct {
	TraceID string
	Span    uint64
	Parent  uint64
}

// otlpLogfmtSpans decodes the close_span lines, by span name.
func otlpLogfmtSpans(t testing.TB, out []byte) map[string]otlpLogfmtSpan {
	t.Helper()
	spans := map[string]otlpLogfmtSpan{}
	dec := gologfmt.NewDecoder(bytes.NewReader(out))
	for dec.ScanRecord() {
		kv := map[string]string{}
		for dec.ScanKeyval() {
			kv[string(dec.Key())] = string(dec.Value())
		}
		if kv["span_event"] != "close_span" {
			continue
		}
		var s otlpLogfmtSpan
		s.TraceID = kv["trace_id"]
		s.Span, _ = strconv.ParseUint(kv["span"], 10, 64)
		s.Parent, _ = strconv.ParseUint(kv["parent_span"], 10, 64)
		spans[kv["span_name"]] = s
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("logfmt: %v", err)
	}
	return spans
}

// otlpReceivedSpan is one span the receiver got, with its resource and scope.
type otlpReceivedSpan struct {
	Service, Scope string
	ptrace.Span
}

func otlpReceivedSpans(sink *consumertest.TracesSink) map[string]otlpReceivedSpan {
	out := map[string]otlpReceivedSpan{}
	for _, td := range sink.AllTraces() {
		for i := range td.ResourceSpans().Len() {
			rs := td.ResourceSpans().At(i)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for j := range rs.ScopeSpans().Len() {
				ss := rs.ScopeSpans().At(j)
				for k := range ss.Spans().Len() {
					s := ss.Spans().At(k)
					out[s.Name()] = otlpReceivedSpan{Service: svc.AsString(), Scope: ss.Scope().Name(), Span: s}
				}
			}
		}
	}
	return out
}

func otlpSpanID(id uint64) pcommon.SpanID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return pcommon.SpanID(b)
}

// The OpenTelemetry Collector's OTLP receiver gets a request's trace, over gRPC and over
// HTTP/protobuf, with gzip: the trace id and span ids are those the logfmt lines print,
// the parents, kinds, statuses, events, the follows-from link and the attributes' types
// are right.
func TestOTLPReceiverGetsTheTraceLogfmtPrints(t *testing.T) {
	for _, protocol := range []string{otlp.ProtocolGRPC, otlp.ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			rcv, _ := otlpStartReceiver(t, false)
			endpoint := "http://" + rcv.GRPC
			if protocol == otlp.ProtocolHTTPProtobuf {
				endpoint = rcv.HTTP
			}
			exp, err := otlp.New(otlp.WithProtocol(protocol), otlp.WithEndpoint(endpoint), otlp.WithService("songs"),
				otlp.WithCompression(otlp.CompressionGzip), otlp.WithLogf(t.Logf))
			if err != nil {
				t.Fatal(err)
			}
			var lines syncBuffer
			d := subscriber.MustNew(storage.New(), logfmt.New(&lines), exp)
			api, db := d.Tracer("songs/api"), d.Tracer("songs/db")

			ctx, root := api.Start(context.Background(), "GET /songs",
				slog.String("otel.kind", "server"), slog.String("http.route", "/songs"),
				slog.Int("http.status_code", 200), slog.Float64("ratio", 0.5), slog.Bool("cached", false),
				slog.Duration("budget", 2*time.Second))
			cctx, child := db.Start(ctx, "db.query", slog.String("otel.kind", "client"), slog.String("db.system", "postgresql"))
			db.Info(cctx, "query sent", slog.Int("attempt", 2), slog.Bool("prepared", true), slog.Float64("cost", 1.5))
			_, grand := db.Start(cctx, "db.decode")
			grand.EndErr(errors.New("corrupt row 7"))
			child.End()
			task := api.Go(ctx, "refresh.cache", func(context.Context) error { return nil }, slog.String("otel.kind", "producer"))
			if err := task.Wait(); err != nil {
				t.Fatal(err)
			}
			root.End()

			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Shutdown(sctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if st := exp.Stats(); st.Spans != 4 || st.Sent != 4 || st.Rejected != 0 {
				t.Fatalf("stats %+v, want 4 spans sent", st)
			}

			logged := otlpLogfmtSpans(t, lines.Bytes())
			got := otlpReceivedSpans(rcv.Sink)
			if len(got) != 4 || len(logged) != 4 {
				t.Fatalf("received %d spans, logged %d, want 4 each", len(got), len(logged))
			}
			for name, s := range got {
				l, ok := logged[name]
				if !ok {
					t.Errorf("%s: no close_span line", name)
					continue
				}
				if s.TraceID().String() != l.TraceID {
					t.Errorf("%s: trace id %s, logfmt says %s", name, s.TraceID(), l.TraceID)
				}
				if s.SpanID() != otlpSpanID(l.Span) {
					t.Errorf("%s: span id %s, logfmt says %d", name, s.SpanID(), l.Span)
				}
				wantParent := pcommon.NewSpanIDEmpty()
				if l.Parent != 0 {
					wantParent = otlpSpanID(l.Parent)
				}
				if s.ParentSpanID() != wantParent {
					t.Errorf("%s: parent %s, logfmt says %d", name, s.ParentSpanID(), l.Parent)
				}
				if s.Service != "songs" {
					t.Errorf("%s: service %q", name, s.Service)
				}
			}
			r, c, g, tk := got["GET /songs"], got["db.query"], got["db.decode"], got["refresh.cache"]
			if c.ParentSpanID() != r.SpanID() || g.ParentSpanID() != c.SpanID() || !r.ParentSpanID().IsEmpty() || !tk.ParentSpanID().IsEmpty() {
				t.Errorf("parents: child %s grandchild %s root %s task %s", c.ParentSpanID(), g.ParentSpanID(), r.ParentSpanID(), tk.ParentSpanID())
			}
			if r.Scope != "songs/api" || c.Scope != "songs/db" || g.Scope != "songs/db" {
				t.Errorf("scopes %s %s %s", r.Scope, c.Scope, g.Scope)
			}
			for s, k := range map[*otlpReceivedSpan]ptrace.SpanKind{
				&r: ptrace.SpanKindServer, &c: ptrace.SpanKindClient, &g: ptrace.SpanKindInternal, &tk: ptrace.SpanKindProducer,
			} {
				if s.Kind() != k {
					t.Errorf("%s: kind %v, want %v", s.Name(), s.Kind(), k)
				}
			}
			if g.Status().Code() != ptrace.StatusCodeError || g.Status().Message() != "corrupt row 7" {
				t.Errorf("grandchild status %v %q", g.Status().Code(), g.Status().Message())
			}
			for _, s := range []otlpReceivedSpan{r, c, tk} {
				if s.Status().Code() != ptrace.StatusCodeUnset {
					t.Errorf("%s: status %v, want unset", s.Name(), s.Status().Code())
				}
			}
			otlpCheckTypes(t, "root", r.Attributes(), map[string]pcommon.ValueType{
				"http.route": pcommon.ValueTypeStr, "http.status_code": pcommon.ValueTypeInt,
				"ratio": pcommon.ValueTypeDouble, "cached": pcommon.ValueTypeBool, "budget": pcommon.ValueTypeInt,
			})
			if v, _ := r.Attributes().Get("budget"); v.Int() != int64(2*time.Second) {
				t.Errorf("budget %v, want nanoseconds", v.AsRaw())
			}
			if _, ok := r.Attributes().Get("otel.kind"); ok {
				t.Error("otel.kind exported as an attribute")
			}
			if c.Events().Len() != 1 {
				t.Fatalf("child events: %d", c.Events().Len())
			}
			ev := c.Events().At(0)
			if ev.Name() != "query sent" || ev.Timestamp() < c.StartTimestamp() || ev.Timestamp() > c.EndTimestamp() {
				t.Errorf("event %q at %v", ev.Name(), ev.Timestamp())
			}
			otlpCheckTypes(t, "event", ev.Attributes(), map[string]pcommon.ValueType{
				"attempt": pcommon.ValueTypeInt, "prepared": pcommon.ValueTypeBool, "cost": pcommon.ValueTypeDouble, "level": pcommon.ValueTypeStr,
			})
			if tk.Links().Len() != 1 || tk.Links().At(0).SpanID() != r.SpanID() || tk.Links().At(0).TraceID() != r.TraceID() {
				t.Errorf("task links: %d, want one to the root", tk.Links().Len())
			}
		})
	}
}

func otlpCheckTypes(t *testing.T, what string, attrs pcommon.Map, want map[string]pcommon.ValueType) {
	t.Helper()
	for k, typ := range want {
		v, ok := attrs.Get(k)
		if !ok || v.Type() != typ {
			t.Errorf("%s attribute %s: %v (present %v), want type %v", what, k, v.Type(), ok, typ)
		}
	}
}

// With a receiver that holds every request, a flood of spans beyond the queue is
// dropped and counted, and End never waits; once the receiver answers, what was queued
// arrives, and every span is accounted for.
func TestOTLPFloodBeyondTheQueueIsCountedAndNeverBlocksEnd(t *testing.T) {
	rcv, release := otlpStartReceiver(t, true)
	const queue, total = 16, 4000
	exp, err := otlp.New(otlp.WithEndpoint(rcv.GRPC), otlp.WithInsecure(), otlp.WithQueueSize(queue),
		otlp.WithBatchSize(4), otlp.WithTimeout(time.Minute), otlp.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), exp)
	tr := d.Tracer("songs")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range total / 4 {
				_, span := tr.Start(context.Background(), "flood", slog.Int("n", 1))
				span.End()
			}
		})
	}
	wg.Wait() // every End returned while the receiver held the first request

	st := exp.Stats()
	if st.Spans != total || st.Dropped < total-queue || st.Sent != 0 {
		t.Fatalf("stats %+v, want %d spans, at least %d dropped, none sent yet", st, total, total-queue)
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	st = exp.Stats()
	if st.Sent+st.Dropped != total || st.Failed != 0 || st.Sent == 0 {
		t.Errorf("stats %+v, want sent + dropped = %d", st, total)
	}
	if got := rcv.Sink.SpanCount(); uint64(got) != st.Sent {
		t.Errorf("the receiver got %d spans, Sent says %d", got, st.Sent)
	}
}
