package otlp

import (
	"context"
	"fmt"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// exportMethod is the OTLP trace service's one method.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// partialSuccess is what a collector said it rejected of a request it accepted.
type partialSuccess struct {
	rejected int64
	message  string
}

// transport puts an encoded ExportTraceServiceRequest on the wire. Its error is wrapped
// with pipeline.Retry when the request may be sent again.
type transport interface {
	export(ctx context.Context, req []byte) (partialSuccess, error)
	close() error
}

// grpcTransport calls TraceService/Export over one lazily connected gRPC client.
type grpcTransport struct {
	conn   *grpc.ClientConn
	target string
	md     metadata.MD
	opts   []grpc.CallOption
	req    rawMessage // reused: a call does not keep it once Invoke returns
	resp   rawMessage
}

// rawMessage is a message already encoded (a request) or not yet decoded (a response).
type rawMessage struct{ b []byte }

// rawCodec sends and receives rawMessage bytes as they are. The module does not import
// the generated collector package (it would bring in grpc-gateway): the request's bytes
// are encoded by the encoder, the response's decoded by parsePartialSuccess.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("otlp: raw codec: cannot marshal %T", v)
	}
	return m.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("otlp: raw codec: cannot unmarshal into %T", v)
	}
	m.b = append(m.b[:0], data...)
	return nil
}

// Name is the content subtype the request declares: the bytes are protobuf.
func (rawCodec) Name() string { return "proto" }

func newGRPCTransport(r *resolved) (*grpcTransport, error) {
	creds := insecure.NewCredentials()
	if !r.plaintext {
		creds = credentials.NewTLS(r.tls)
	}
	// NewClient does not connect: the first export does, so New never waits for a
	// collector that is down.
	conn, err := grpc.NewClient(r.target,
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("strata-otlp/"+SDKVersion),
	)
	if err != nil {
		return nil, fmt.Errorf("otlp: gRPC client for %s: %w", r.target, err)
	}
	t := &grpcTransport{conn: conn, target: r.target, opts: []grpc.CallOption{grpc.ForceCodec(rawCodec{})}}
	if r.gzip {
		t.opts = append(t.opts, grpc.UseCompressor(gzip.Name))
	}
	if len(r.headers) > 0 {
		t.md = metadata.MD{}
		for _, k := range r.headerNames {
			t.md.Append(k, r.headers[k]) // Append lowercases the key
		}
	}
	return t, nil
}

func (t *grpcTransport) export(ctx context.Context, req []byte) (partialSuccess, error) {
	if t.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, t.md)
	}
	t.req.b = req
	err := t.conn.Invoke(ctx, exportMethod, &t.req, &t.resp, t.opts...)
	t.req.b = nil
	if err != nil {
		st := status.Convert(err)
		err = fmt.Errorf("otlp: export to %s: %s: %s", t.target, st.Code(), st.Message())
		if retryableGRPC(st) {
			return partialSuccess{}, pipeline.Retry(err)
		}
		return partialSuccess{}, err
	}
	ps, perr := parsePartialSuccess(t.resp.b)
	if perr != nil {
		// The spans were accepted; only the answer is unreadable.
		return partialSuccess{}, nil
	}
	return ps, nil
}

func (t *grpcTransport) close() error { return t.conn.Close() }

// retryableGRPC reports whether the OTLP specification says a request that failed with
// st may be sent again: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
// UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED when the server sent RetryInfo (it
// can recover).
func retryableGRPC(st *status.Status) bool {
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return true
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if _, ok := d.(*errdetails.RetryInfo); ok {
				return true
			}
		}
	}
	return false
}

// parsePartialSuccess reads an ExportTraceServiceResponse: field 1, partial_success,
// holds rejected_spans (1, int64) and error_message (2, string).
func parsePartialSuccess(b []byte) (partialSuccess, error) {
	var ps partialSuccess
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
			switch {
			case num == 1 && typ == protowire.VarintType:
				ps.rejected = int64(n)
			case num == 2 && typ == protowire.BytesType:
				ps.message = string(v)
			}
			return nil
		})
	})
	return ps, err
}

// walkFields calls fn with each field of an encoded message: its bytes for a
// length-delimited field, its value for a varint.
func walkFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}
