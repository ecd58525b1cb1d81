package grpctrace

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/strata-go/strata/subscriber"
)

// startClient starts the exit span of a call and adds its trace to the outgoing
// metadata. A span a filter rejects still lets the caller's span go to the server.
func startClient(ctx context.Context, c *config, tr *subscriber.Tracer, cc *grpc.ClientConn, fullMethod string) (context.Context, subscriber.Span) {
	var buf [5]slog.Attr
	fields := methodFields(buf[:0], "client", fullMethod)
	if cc != nil {
		fields = append(fields, slog.String("peer", peerOf(cc.Target())))
	}
	ctx, span := tr.Start(ctx, fullMethod, fields...)
	return inject(ctx, c), span
}

// UnaryClientInterceptor returns an interceptor that runs every unary call in an Exit
// span (otel.kind=client) named by the full method, with the fields rpc.system=grpc,
// rpc.service, rpc.method, peer (host:port from the ClientConn's target, port 443 when
// it has none), then rpc.grpc.status_code and otel.status_code (ERROR for any code but
// OK). The call's error ends the span failed. The span's trace goes to the server in
// the outgoing metadata, next to the metadata the caller set.
//
//	conn, err := grpc.NewClient(addr,
//		grpc.WithTransportCredentials(creds),
//		grpc.WithChainUnaryInterceptor(grpctrace.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(grpctrace.StreamClientInterceptor()),
//	)
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	c := newConfig(opts)
	tr := c.Tracer()
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		ctx, span := startClient(ctx, &c, tr, cc, method)
		returned := false
		defer endIfPanicked(span, &returned)
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		returned = true
		end(span, err)
		return err
	}
}

// StreamClientInterceptor returns an interceptor that runs every streaming call in an
// Exit span, as [UnaryClientInterceptor] does for unary calls. The span ends when the
// stream does: RecvMsg returns io.EOF or an error (or, for a call with a single
// response, returns it), Header or SendMsg fail, or the call's ctx is done. A stream
// that is abandoned without any of these (which leaks it in gRPC too) leaves its span
// open.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	c := newConfig(opts)
	tr := c.Tracer()
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, span := startClient(ctx, &c, tr, cc, method)
		returned := false
		defer endIfPanicked(span, &returned)
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		returned = true
		if err != nil {
			end(span, err)
			return nil, err
		}
		if !span.IsRecording() {
			return cs, nil
		}
		s := &clientStream{ClientStream: cs, span: span, singleResponse: !desc.ServerStreams}
		// No goroutine waits: AfterFunc runs only if ctx ends before the stream does.
		s.stop = context.AfterFunc(ctx, func() { s.finish(status.FromContextError(ctx.Err()).Err()) })
		return s, nil
	}
}

// clientStream ends its span when the stream ends.
type clientStream struct {
	grpc.ClientStream
	span           subscriber.Span
	singleResponse bool
	stop           func() bool
	done           atomic.Bool
}

func (s *clientStream) finish(err error) {
	if s.done.Swap(true) {
		return
	}
	end(s.span, err)
}

// finishHere ends the span from a method of the stream, and lets the ctx go.
func (s *clientStream) finishHere(err error) {
	s.stop()
	s.finish(err)
}

// RecvMsg receives a message; io.EOF or an error ends the span, and so does the one
// response of a client-streaming call.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		if s.singleResponse {
			s.finishHere(nil)
		}
	case err == io.EOF:
		s.finishHere(nil)
	default:
		s.finishHere(err)
	}
	return err
}

// SendMsg sends a message; an error other than io.EOF (which means the status is to be
// had from RecvMsg) ends the span.
func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.finishHere(err)
	}
	return err
}

// Header returns the response header; an error ends the span.
func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil {
		s.finishHere(err)
	}
	return md, err
}

// peerOf returns host:port of a gRPC target ("dns:///songs:50051", "songs:50051",
// "passthrough:///10.0.0.1:50051"), with gRPC's default port 443 when it has none. Unix
// socket targets are returned as they are.
func peerOf(target string) string {
	rest := target
	if i := strings.Index(target, "://"); i >= 0 {
		if scheme := target[:i]; scheme == "unix" || scheme == "unix-abstract" {
			return target
		}
		rest = target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[j+1:] // drop the authority ("dns://8.8.8.8/host:port")
		}
	} else if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return target
	}
	if rest == "" {
		return target
	}
	if _, _, err := net.SplitHostPort(rest); err == nil || strings.Contains(rest, ":") {
		return rest
	}
	return net.JoinHostPort(rest, "443")
}
