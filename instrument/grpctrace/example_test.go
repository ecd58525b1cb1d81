package grpctrace_test

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/strata-go/strata/instrument/grpctrace"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// traceKey carries the trace id in one made-up metadata key. A real service composes a
// layer that propagates (the SkyWalking layer's sw8).
type traceKey struct{}

func (traceKey) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	id := registry.ParseTraceID(c.Get("x-example-trace"))
	return &subscriber.RemoteParent{TraceID: id, Propagator: "example"}, !id.IsZero()
}

func (traceKey) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	c.Set("x-example-trace", span.TraceID().String())
}

// spanPrinter prints each span as it ends.
type spanPrinter struct{}

func (spanPrinter) OnClose(s subscriber.SpanRef) {
	kind, _ := s.Field("otel.kind")
	code, _ := s.Field("rpc.grpc.status_code")
	fmt.Printf("%s span %s code=%v continues a remote trace: %v\n", kind, s.Name(), code, s.Remote() != nil)
}

func Example() {
	d := subscriber.MustNew(spanPrinter{}, traceKey{})
	defer d.Shutdown(context.Background())
	restore := subscriber.SetDefault(d) // what main does; or pass grpctrace.WithDispatch(d)
	defer restore()

	// The server: every call is traced.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpctrace.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(grpctrace.StreamServerInterceptor()),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	// The client: every call is traced and carries the trace to the server.
	conn, err := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpctrace.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(grpctrace.StreamClientInterceptor()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.GetStatus())
	// Output:
	// server span /grpc.health.v1.Health/Check code=0 continues a remote trace: true
	// client span /grpc.health.v1.Health/Check code=0 continues a remote trace: false
	// SERVING
}
