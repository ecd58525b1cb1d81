package grpctrace

import (
	"context"
	"log/slog"
	"reflect"

	"google.golang.org/grpc"

	"github.com/strata-go/strata/subscriber"
)

// startServer extracts the remote parent from the call's metadata and starts the entry
// span, named by the full method ("/songs.v1.Songs/Get").
func startServer(ctx context.Context, c *config, tr *subscriber.Tracer, fullMethod string) (context.Context, subscriber.Span) {
	ctx = c.Dispatch().Extract(ctx, &incoming{ctx: ctx})
	var buf [4]slog.Attr
	return tr.Start(ctx, fullMethod, methodFields(buf[:0], "server", fullMethod)...)
}

// UnaryServerInterceptor returns an interceptor that runs every unary call in an Entry
// span (otel.kind=server) named by the full method ("/songs.v1.Songs/Get"), with the
// fields rpc.system=grpc, rpc.service, rpc.method, and, when the handler returns,
// rpc.grpc.status_code (the code of its error, 0 for none) and otel.status_code. The
// handler's error ends the span failed. The span continues the caller's trace when one
// of the dispatch's propagators finds a remote parent in the incoming metadata; a
// missing or malformed one starts a new trace and never fails the call. The handler's
// ctx carries the span.
//
// A panic in the handler ends the span failed and goes on (gRPC does not recover
// panics: put a recovery interceptor before this one to turn them into errors).
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpctrace.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(grpctrace.StreamServerInterceptor()),
//	)
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(opts)
	tr := c.Tracer()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx, span := startServer(ctx, &c, tr, info.FullMethod)
		if !span.IsRecording() {
			return handler(ctx, req)
		}
		returned := false
		defer endIfPanicked(span, &returned)
		resp, err = handler(ctx, req)
		returned = true
		end(span, err)
		return resp, err
	}
}

// StreamServerInterceptor returns an interceptor that runs every streaming call in an
// Entry span, as [UnaryServerInterceptor] does for unary calls; the span ends when the
// handler returns. The stream's Context() carries the span.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(opts)
	tr := c.Tracer()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx, span := startServer(ss.Context(), &c, tr, info.FullMethod)
		if changed(ctx, ss.Context()) {
			ss = &serverStream{ServerStream: ss, ctx: ctx}
		}
		if !span.IsRecording() {
			return handler(srv, ss)
		}
		returned := false
		defer endIfPanicked(span, &returned)
		err = handler(srv, ss)
		returned = true
		end(span, err)
		return err
	}
}

// serverStream is a grpc.ServerStream whose Context carries the span.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's ctx with the call's span.
func (s *serverStream) Context() context.Context { return s.ctx }

// changed reports whether ctx is another context than base. A ctx of a type that
// cannot be compared with == (none in the standard library) counts as changed, rather
// than panicking.
func changed(ctx, base context.Context) bool {
	if t := reflect.TypeOf(ctx); t != nil && !t.Comparable() {
		return true
	}
	return ctx != base
}
