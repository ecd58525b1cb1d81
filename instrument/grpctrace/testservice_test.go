package grpctrace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/strata-go/strata/instrument/grpctrace"
)

// songs is the test service, over gRPC's own test protos. A request's payload body
// says what to do: "fail" returns NotFound, "panic" panics, "want-keep" fails unless
// the x-keep metadata arrived; every call starts a child span from its ctx.
type songs struct {
	testpb.UnimplementedTestServiceServer
	svc *service
}

func (s *songs) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	_, child := s.svc.tr.Start(ctx, "handler")
	defer child.End()
	body := string(req.GetPayload().GetBody())
	switch body {
	case "fail":
		return nil, status.Error(codes.NotFound, "no such song")
	case "panic":
		panic("boom")
	case "want-keep":
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("x-keep"); len(got) != 1 || got[0] != "1" {
			return nil, status.Errorf(codes.InvalidArgument, "x-keep = %q, want [1]", got)
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	trace := ""
	if v := md.Get("x-test-trace"); len(v) > 0 {
		trace = v[0]
	}
	return &testpb.SimpleResponse{Username: trace, Payload: &testpb.Payload{Body: []byte(fmt.Sprint(len(md.Get("x-test-trace"))))}}, nil
}

func (s *songs) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	_, child := s.svc.tr.Start(stream.Context(), "handler")
	defer child.End()
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

func (s *songs) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n += len(req.GetPayload().GetBody())
	}
}

func (s *songs) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if st := req.GetResponseStatus(); st != nil {
			return status.Error(codes.Code(st.GetCode()), st.GetMessage())
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// recovered turns a handler's panic into an Internal error, as a recovery interceptor
// placed before grpctrace's would: it proves the panic went on past grpctrace.
func recovered(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "recovered: %v", p)
		}
	}()
	return handler(ctx, req)
}

// startServer serves the test service on 127.0.0.1 with the server interceptors bound
// to server's dispatch; it stops with the test.
func startServer(t *testing.T, server *service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recovered, grpctrace.UnaryServerInterceptor(grpctrace.WithDispatch(server.d))),
		grpc.ChainStreamInterceptor(grpctrace.StreamServerInterceptor(grpctrace.WithDispatch(server.d))),
	)
	testpb.RegisterTestServiceServer(srv, &songs{svc: server})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dial connects to addr with the client interceptors bound to client's dispatch (none
// when client is nil); the connection closes with the test.
func dial(t *testing.T, addr string, client *service) testpb.TestServiceClient {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if client != nil {
		opts = append(opts,
			grpc.WithChainUnaryInterceptor(grpctrace.UnaryClientInterceptor(grpctrace.WithDispatch(client.d))),
			grpc.WithChainStreamInterceptor(grpctrace.StreamClientInterceptor(grpctrace.WithDispatch(client.d))))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}
