package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	swtranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/skywalking"
	swreceiver "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/skywalkingreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/grpc"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"
)

// The SkyWalking collector of these tests is the OpenTelemetry Collector contrib
// SkyWalking receiver (github.com/open-telemetry/opentelemetry-collector-contrib/
// receiver/skywalkingreceiver), whose segments are translated to OpenTelemetry spans by
// the contrib translator (pkg/translator/skywalking) into a consumertest.TracesSink.
//
// The receiver's gRPC server listens on ":<port>", every interface, whatever host its
// endpoint names (skywalking_receiver.go, collectorGRPCAddr). These tests bind only to
// 127.0.0.1, so the receiver itself runs only where loopback is the only interface, as
// in a network namespace of its own:
//
//	unshare -rn sh -c 'ip link set lo up && go test ./...'
//
// Elsewhere the same services run on a 127.0.0.1 gRPC server that does what the
// receiver does, call for call: Collect translates each segment with the same translator
// into the sink and answers empty Commands; ManagementService answers empty Commands to
// ReportInstanceProperties and KeepAlive; MeterReportService.Collect returns at once
// without reading; LogReportService is not registered. TestSkyWalkingCollectorBehaviour
// holds both to that description.

// swCollector is a running SkyWalking collector that translates what it receives into
// OpenTelemetry spans.
type swCollector struct {
	// Addr is the host:port agents dial.
	Addr string
	// Sink receives one ptrace.Traces per segment.
	Sink *consumertest.TracesSink
	// Receiver is true when Addr is the contrib receiver itself, false when it is the
	// loopback stand-in.
	Receiver bool
}

// startSWCollector starts a collector and stops it in t.Cleanup: the contrib receiver
// when loopback is the only network interface, the loopback stand-in otherwise.
func startSWCollector(t testing.TB) *swCollector {
	t.Helper()
	if onlyLoopback() {
		return startContribReceiver(t)
	}
	return startLoopbackCollector(t)
}

// onlyLoopback reports whether every network interface of this process is a loopback
// one, so that a listener on ":port" is reachable from this machine alone.
func onlyLoopback() bool {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// startContribReceiver runs the contrib SkyWalking receiver in this process through its
// factory, gRPC only (the HTTP endpoint is disabled), on a free port.
func startContribReceiver(t testing.TB) *swCollector {
	t.Helper()
	sink := new(consumertest.TracesSink)
	f := swreceiver.NewFactory()
	var lastErr error
	for range 5 { // the free port can be taken between choosing and binding it
		port := freePort(t)
		cfg := f.CreateDefaultConfig().(*swreceiver.Config)
		cfg.HTTP = nil
		cfg.GRPC = &configgrpc.ServerConfig{}
		cfg.GRPC.NetAddr.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cfg.GRPC.NetAddr.Transport = "tcp"
		r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		if err != nil {
			t.Fatalf("skywalking receiver: create: %v", err)
		}
		if lastErr = r.Start(context.Background(), componenttest.NewNopHost()); lastErr != nil {
			_ = r.Shutdown(context.Background())
			continue
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Shutdown(ctx); err != nil {
				t.Errorf("skywalking receiver: shutdown: %v", err)
			}
		})
		return &swCollector{Addr: cfg.GRPC.NetAddr.Endpoint, Sink: sink, Receiver: true}
	}
	t.Fatalf("skywalking receiver: start: %v", lastErr)
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startLoopbackCollector serves, on 127.0.0.1, what the contrib receiver serves.
func startLoopbackCollector(t testing.TB) *swCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := new(consumertest.TracesSink)
	srv := grpc.NewServer()
	agentv3.RegisterTraceSegmentReportServiceServer(srv, &translatingSegmentService{sink: sink})
	managementv3.RegisterManagementServiceServer(srv, emptyManagementService{})
	agentv3.RegisterMeterReportServiceServer(srv, unreadMeterService{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() {
		srv.GracefulStop()
		wg.Wait()
	})
	return &swCollector{Addr: ln.Addr().String(), Sink: sink}
}

// translatingSegmentService is the receiver's trace service (internal/trace,
// Receiver.Collect).
type translatingSegmentService struct {
	agentv3.UnimplementedTraceSegmentReportServiceServer
	sink *consumertest.TracesSink
}

func (s *translatingSegmentService) Collect(stream agentv3.TraceSegmentReportService_CollectServer) error {
	for {
		seg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&commonv3.Commands{})
		}
		if err != nil {
			return err
		}
		if err := s.sink.ConsumeTraces(stream.Context(), swtranslator.ProtoToTraces(seg)); err != nil {
			return stream.SendAndClose(&commonv3.Commands{})
		}
	}
}

// emptyManagementService is the receiver's dummyReportService for ManagementService.
type emptyManagementService struct {
	managementv3.UnimplementedManagementServiceServer
}

func (emptyManagementService) ReportInstanceProperties(context.Context, *managementv3.InstanceProperties) (*commonv3.Commands, error) {
	return &commonv3.Commands{}, nil
}

func (emptyManagementService) KeepAlive(context.Context, *managementv3.InstancePingPkg) (*commonv3.Commands, error) {
	return &commonv3.Commands{}, nil
}

// unreadMeterService is the receiver's meterService.
type unreadMeterService struct {
	agentv3.UnimplementedMeterReportServiceServer
}

func (unreadMeterService) Collect(agentv3.MeterReportService_CollectServer) error { return nil }

func (unreadMeterService) CollectBatch(agentv3.MeterReportService_CollectBatchServer) error {
	return nil
}

// receivedSpan is one translated span with what the tests look at.
type receivedSpan struct {
	Service, Instance string
	ptrace.Span
}

// Attr returns the span attribute key as a string, and whether it is there.
func (s receivedSpan) Attr(key string) (string, bool) {
	v, ok := s.Attributes().Get(key)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (s receivedSpan) String() string {
	return fmt.Sprintf("%s %q kind=%s trace=%s span=%s parent=%s", s.Service, s.Name(), s.Kind(), s.TraceID(), s.SpanID(), s.ParentSpanID())
}

// Spans returns every span received so far, in arrival order.
func (c *swCollector) Spans() []receivedSpan {
	var out []receivedSpan
	for _, td := range c.Sink.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			inst, _ := rs.Resource().Attributes().Get("service.instance.id")
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					out = append(out, receivedSpan{Service: svc.AsString(), Instance: inst.AsString(), Span: sp})
				}
			}
		}
	}
	return out
}

// WaitSpans waits until at least n spans arrived and returns them; it fails the test
// after timeout with what did arrive.
func (c *swCollector) WaitSpans(t testing.TB, n int, timeout time.Duration) []receivedSpan {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans := c.Spans()
		if len(spans) >= n {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector received %d spans in %v, want %d: %v", len(spans), timeout, n, spans)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// findSpan returns the one span named name of service, failing the test when there is
// not exactly one.
func findSpan(t testing.TB, spans []receivedSpan, service, name string) receivedSpan {
	t.Helper()
	var found []receivedSpan
	for _, s := range spans {
		if s.Service == service && s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans %q of service %q, want 1; received: %v", len(found), name, service, spans)
	}
	return found[0]
}

// spanIDs returns the span ids of spans, sorted, as strings.
func spanIDs(spans []receivedSpan) []string {
	out := make([]string, 0, len(spans))
	for _, s := range spans {
		out = append(out, pcommon.SpanID(s.SpanID()).String())
	}
	slices.Sort(out)
	return out
}
