// Package grpctrace instruments gRPC servers and clients with Strata spans, and carries
// traces between services in gRPC metadata.
//
// Server interceptors run every call in an Entry span (otel.kind=server), client
// interceptors in an Exit span (otel.kind=client, peer=host:port); both are named by the
// full method ("/songs.v1.Songs/Get") and have the fields rpc.system=grpc, rpc.service,
// rpc.method and, when the call ends, rpc.grpc.status_code and otel.status_code. A call
// that ends with an error ends its span failed.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpctrace.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(grpctrace.StreamServerInterceptor()),
//	)
//	conn, err := grpc.NewClient("songs:50051",
//		grpc.WithTransportCredentials(creds),
//		grpc.WithChainUnaryInterceptor(grpctrace.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(grpctrace.StreamClientInterceptor()),
//	)
//
// A handler's ctx (a stream's Context()) carries its span, so spans it starts are the
// call's children; a client span is a child of the span in the caller's ctx.
//
// Which metadata keys carry the trace is the composed layers' choice: the server side
// calls [subscriber.Dispatch.Extract] on the incoming metadata and the client side
// [subscriber.Dispatch.Inject] on the outgoing metadata (keys lower-cased, as
// [MetadataCarrier] does), so composing the SkyWalking layer gives sw8. A missing or
// malformed value never fails a call; the server span then starts a new trace. The
// interceptors use the default dispatch unless given [WithDispatch].
//
// A streaming client span ends when the stream does (see [StreamClientInterceptor]);
// a streaming server span when the handler returns.
package grpctrace
