package grpctrace_test

import (
	"context"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	unary        = "/grpc.testing.TestService/UnaryCall"
	serverStream = "/grpc.testing.TestService/StreamingOutputCall"
	clientStream = "/grpc.testing.TestService/StreamingInputCall"
	bidi         = "/grpc.testing.TestService/FullDuplexCall"
)

// A unary call through the client interceptor (client service) and the server
// interceptor (server service, another dispatch in the same process) is one trace: the
// server's entry span continues the client's exit span, and the handler's spans are its
// children. Metadata the caller set still arrives, next to the trace.
func TestUnaryClientSpanIsTheServerSpansRemoteParent(t *testing.T) {
	client, server := newService(t), newService(t)
	addr := startServer(t, server)
	c := dial(t, addr, client)

	ctx, caller := client.tr.Start(context.Background(), "caller")
	ctx = metadata.AppendToOutgoingContext(ctx, "x-keep", "1")
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("want-keep")}}); err != nil {
		t.Fatal(err)
	}
	caller.End()

	callerSpan := client.rec.find(t, "caller", 0)
	exit := client.rec.find(t, unary, 0)
	entry := server.rec.find(t, unary, 0)
	handler := server.rec.find(t, "handler", 0)
	if exit.parent != callerSpan.id || exit.trace != callerSpan.trace {
		t.Errorf("exit span: parent %d, want the caller %d", exit.parent, callerSpan.id)
	}
	if entry.trace != exit.trace {
		t.Errorf("server span trace %s, want the client's %s", entry.trace, exit.trace)
	}
	if entry.remote == nil || entry.remote.Data.(remoteSpan).ID != exit.id {
		t.Errorf("server span's remote parent = %+v, want the client's exit span %d", entry.remote, exit.id)
	}
	if handler.parent != entry.id {
		t.Errorf("handler's span parent %d, want the entry span %d", handler.parent, entry.id)
	}
	for _, s := range []closed{exit, entry} {
		field(t, s, "rpc.system", "grpc")
		field(t, s, "rpc.service", "grpc.testing.TestService")
		field(t, s, "rpc.method", "UnaryCall")
		field(t, s, "rpc.grpc.status_code", "0")
		field(t, s, "otel.status_code", "OK")
		if s.failed {
			t.Errorf("span %q failed: %s", s.name, s.err)
		}
	}
	field(t, exit, "otel.kind", "client")
	field(t, exit, "peer", addr)
	field(t, entry, "otel.kind", "server")
	if _, ok := entry.fields["peer"]; ok {
		t.Error("the server span has a peer field; peer is the exit span's")
	}
}

// Outgoing metadata that already holds the propagator's key (copied from an incoming
// call, say) gets the current trace in its place, once; the caller's own metadata is
// not changed.
func TestOutgoingMetadataKeepsTheCallersAndReplacesTheTrace(t *testing.T) {
	client, server := newService(t), newService(t)
	c := dial(t, startServer(t, server), client)

	ctx, caller := client.tr.Start(context.Background(), "caller")
	defer caller.End()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("x-test-trace", "stale", "x-keep", "1"))
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("want-keep")}})
	if err != nil {
		t.Fatal(err)
	}
	exit := client.rec.find(t, unary, 0)
	if want := exit.trace.String() + "/"; len(resp.GetUsername()) <= len(want) || resp.GetUsername()[:len(want)] != want {
		t.Errorf("server saw x-test-trace %q, want the exit span's trace %s", resp.GetUsername(), exit.trace)
	}
	if n := string(resp.GetPayload().GetBody()); n != "1" {
		t.Errorf("server saw %s x-test-trace values, want 1", n)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	if got := md.Get("x-test-trace"); len(got) != 1 || got[0] != "stale" {
		t.Errorf("the caller's metadata changed: x-test-trace = %q", got)
	}
}

// A handler's error status ends both spans failed with its code; a panic ends the
// server span failed and goes on to the recovery interceptor before it.
func TestErrorsAndPanicsAreRecorded(t *testing.T) {
	client, server := newService(t), newService(t)
	c := dial(t, startServer(t, server), client)

	_, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("fail")}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err = %v, want NotFound", err)
	}
	for _, s := range []closed{client.rec.find(t, unary, 0), server.rec.find(t, unary, 0)} {
		field(t, s, "rpc.grpc.status_code", "5")
		field(t, s, "otel.status_code", "ERROR")
		if !s.failed || s.err != "rpc error: code = NotFound desc = no such song" {
			t.Errorf("span %q failed=%v err=%q, want the NotFound status", s.name, s.failed, s.err)
		}
	}

	_, err = c.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("panic")}})
	if status.Code(err) != codes.Internal || status.Convert(err).Message() != "recovered: boom" {
		t.Fatalf("err = %v, want the recovery interceptor's Internal error", err)
	}
	s := server.rec.find(t, unary, 1)
	if !s.failed || s.err != "panic: boom" {
		t.Errorf("server span failed=%v err=%q, want panic: boom", s.failed, s.err)
	}
	field(t, s, "otel.status_code", "ERROR")
	field(t, client.rec.find(t, unary, 1), "rpc.grpc.status_code", "13")

	// The server goes on serving.
	if _, err := c.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Errorf("after the panic: %v", err)
	}
}

// A missing or malformed trace in the metadata never fails a call: the server span
// starts a new trace.
func TestMalformedMetadataNeverFailsTheCall(t *testing.T) {
	server := newService(t)
	c := dial(t, startServer(t, server), nil) // no client interceptor: raw metadata
	values := []string{"", "garbage", "0123456789abcdef0123456789abcdef/0", "XYZ3456789abcdef0123456789abcdef/1", "/////", "~!@#$%^&*()/-1"}
	for i, v := range values {
		ctx := context.Background()
		if v != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-test-trace", v)
		}
		if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		s := server.rec.find(t, unary, i)
		if s.remote != nil || s.trace.IsZero() || s.parent != 0 {
			t.Errorf("%q: server span remote=%v trace=%s, want a new root trace", v, s.remote, s.trace)
		}
	}
}

// Streaming spans end when the stream does: server-streaming at io.EOF, client-streaming
// at its one response, bidi at io.EOF; each server span continues its client span.
func TestStreamSpansEndWithTheStream(t *testing.T) {
	client, server := newService(t), newService(t)
	c := dial(t, startServer(t, server), client)
	ctx := context.Background()

	// Server streaming: three responses, then io.EOF.
	out, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{}, {}, {}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := out.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if client.rec.count(serverStream) != 0 {
		t.Error("the server-streaming client span ended before io.EOF")
	}
	if _, err := out.Recv(); err != io.EOF {
		t.Fatalf("Recv = %v, want io.EOF", err)
	}
	exit, entry := client.rec.find(t, serverStream, 0), server.rec.find(t, serverStream, 0)
	if entry.remote == nil || entry.remote.Data.(remoteSpan).ID != exit.id || entry.trace != exit.trace {
		t.Errorf("server-streaming: server span does not continue the client span")
	}
	if h := server.rec.find(t, "handler", 0); h.parent != entry.id {
		t.Errorf("stream handler's span parent %d, want the entry span %d (stream.Context carries it)", h.parent, entry.id)
	}
	field(t, exit, "rpc.grpc.status_code", "0")
	field(t, exit, "rpc.method", "StreamingOutputCall")

	// Client streaming: the span ends with CloseAndRecv's response.
	in, err := c.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ab", "cde"} {
		if err := in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte(b)}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := in.CloseAndRecv()
	if err != nil || resp.GetAggregatedPayloadSize() != 5 {
		t.Fatalf("CloseAndRecv = %v, %v", resp, err)
	}
	exit, entry = client.rec.find(t, clientStream, 0), server.rec.find(t, clientStream, 0)
	if entry.trace != exit.trace {
		t.Errorf("client-streaming: server span does not continue the client span")
	}
	field(t, exit, "otel.status_code", "OK")

	// Bidi, ending with an error status from the server.
	bd, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := bd.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bd.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := bd.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.ResourceExhausted), Message: "full"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bd.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Recv = %v, want ResourceExhausted", err)
	}
	for _, s := range []closed{client.rec.find(t, bidi, 0), server.rec.find(t, bidi, 0)} {
		field(t, s, "rpc.grpc.status_code", "8")
		if !s.failed {
			t.Errorf("bidi span %q did not fail", s.name)
		}
	}
}

// A stream whose ctx is cancelled ends its client span (Canceled) without any further
// call on the stream, and the server span ends when its handler returns.
func TestCancelledStreamEndsItsSpan(t *testing.T) {
	client, server := newService(t), newService(t)
	c := dial(t, startServer(t, server), client)
	ctx, cancel := context.WithCancel(context.Background())
	bd, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := bd.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := bd.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	exit := client.rec.find(t, bidi, 0)
	field(t, exit, "rpc.grpc.status_code", "1")
	if !exit.failed {
		t.Error("the cancelled stream's span did not fail")
	}
	entry := server.rec.find(t, bidi, 0)
	field(t, entry, "rpc.grpc.status_code", "1")
	// Calls after the end do not end the span again or panic.
	if _, err := bd.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("Recv after cancel = %v", err)
	}
	if n := client.rec.count(bidi); n != 1 {
		t.Errorf("the span closed %d times", n)
	}
}
