package otlp

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// collector is a TraceService on 127.0.0.1 that records what it receives. The request's
// encoding is that of TracesData, which it decodes into; it answers an empty response,
// or a partial success, or the failures it was told to return.
type collector struct {
	Addr string

	mu       sync.Mutex
	reqs     []*tracepb.TracesData
	md       []metadata.MD
	fail     []*status.Status // returned by the next calls, in order
	rejected int64            // answered as partial_success.rejected_spans
	block    chan struct{}    // when set, calls wait for it to close (or their ctx)
	wire     []wireStats      // per request received, as gRPC's stats saw it
	entered  chan struct{}    // receives a value when a call starts
}

type exportHandler interface {
	handle(ctx context.Context, req *tracepb.TracesData) (proto.Message, error)
}

var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*exportHandler)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(tracepb.TracesData)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(exportHandler).handle(ctx, in)
		},
	}},
	Streams: []grpc.StreamDesc{},
}

func startCollector(t testing.TB) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{Addr: ln.Addr().String(), entered: make(chan struct{}, 1000)}
	srv := grpc.NewServer(grpc.StatsHandler(wireRecorder{c}))
	srv.RegisterService(&traceServiceDesc, c)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() {
		c.unblock()
		srv.Stop()
		wg.Wait()
	})
	return c
}

func (c *collector) handle(ctx context.Context, req *tracepb.TracesData) (proto.Message, error) {
	select {
	case c.entered <- struct{}{}:
	default:
	}
	c.mu.Lock()
	block := c.block
	c.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fail) > 0 {
		st := c.fail[0]
		c.fail = c.fail[1:]
		return nil, st.Err()
	}
	c.reqs = append(c.reqs, req)
	c.md = append(c.md, md)
	resp := &emptypb.Empty{}
	if c.rejected > 0 {
		resp.ProtoReflect().SetUnknown(protoreflect.RawFields(partialSuccessBytes(c.rejected, "spans too old")))
	}
	return resp, nil
}

// wireStats is how a request travelled: its grpc-encoding, and its payload's sizes.
type wireStats struct {
	Compression        string
	Length, WireLength int
}

// wireRecorder is a gRPC stats handler that records the compression and the payload
// sizes of the requests (grpc-encoding is not in the metadata handlers see).
type wireRecorder struct{ c *collector }

func (w wireRecorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (w wireRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (w wireRecorder) HandleConn(context.Context, stats.ConnStats)                       {}
func (w wireRecorder) HandleRPC(_ context.Context, s stats.RPCStats) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	switch s := s.(type) {
	case *stats.InHeader:
		w.c.wire = append(w.c.wire, wireStats{Compression: s.Compression})
	case *stats.InPayload:
		if n := len(w.c.wire); n > 0 {
			w.c.wire[n-1].Length, w.c.wire[n-1].WireLength = s.Length, s.CompressedLength
		}
	}
}

func (c *collector) wireStats() []wireStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wireStats(nil), c.wire...)
}

// failNext makes the next calls fail with these statuses.
func (c *collector) failNext(sts ...*status.Status) {
	c.mu.Lock()
	c.fail = append(c.fail, sts...)
	c.mu.Unlock()
}

// blockCalls makes calls wait until unblock.
func (c *collector) blockCalls() {
	c.mu.Lock()
	c.block = make(chan struct{})
	c.mu.Unlock()
}

func (c *collector) unblock() {
	c.mu.Lock()
	if c.block != nil {
		close(c.block)
		c.block = nil
	}
	c.mu.Unlock()
}

func (c *collector) requests() []*tracepb.TracesData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.TracesData(nil), c.reqs...)
}

func (c *collector) metadata() []metadata.MD {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]metadata.MD(nil), c.md...)
}

// spans returns every span received, in order.
func (c *collector) spans() []*tracepb.Span { return spansOf(c.requests()) }

func spansOf(reqs []*tracepb.TracesData) []*tracepb.Span {
	var out []*tracepb.Span
	for _, r := range reqs {
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				out = append(out, ss.Spans...)
			}
		}
	}
	return out
}

// partialSuccessBytes encodes an ExportTraceServiceResponse with a partial success.
func partialSuccessBytes(rejected int64, msg string) []byte {
	var inner []byte
	inner = protowire.AppendTag(inner, 1, protowire.VarintType)
	inner = protowire.AppendVarint(inner, uint64(rejected))
	inner = protowire.AppendTag(inner, 2, protowire.BytesType)
	inner = protowire.AppendString(inner, msg)
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	return protowire.AppendBytes(out, inner)
}

// withRetryInfo is st with a RetryInfo detail, which makes RESOURCE_EXHAUSTED retryable.
func withRetryInfo(t testing.TB, code codes.Code) *status.Status {
	st, err := status.New(code, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// httpCollector is an OTLP/HTTP endpoint on 127.0.0.1 that records what it receives.
type httpCollector struct {
	URL string // the server's base URL

	mu       sync.Mutex
	reqs     []*tracepb.TracesData
	headers  []http.Header
	paths    []string
	statuses []int // answered by the next calls, in order
	rejected int64
}

func startHTTPCollector(t testing.TB) *httpCollector {
	t.Helper()
	c := &httpCollector{}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *httpCollector) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := new(tracepb.TracesData)
	if err := proto.Unmarshal(b, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.statuses) > 0 {
		code := c.statuses[0]
		c.statuses = c.statuses[1:]
		w.Header().Set("Content-Type", "application/x-protobuf")
		var st []byte
		st = protowire.AppendTag(st, 1, protowire.VarintType)
		st = protowire.AppendVarint(st, uint64(codes.Unavailable))
		st = protowire.AppendTag(st, 2, protowire.BytesType)
		st = protowire.AppendString(st, "try later")
		w.WriteHeader(code)
		_, _ = w.Write(st)
		return
	}
	c.reqs = append(c.reqs, req)
	c.headers = append(c.headers, r.Header.Clone())
	c.paths = append(c.paths, r.URL.Path)
	w.Header().Set("Content-Type", "application/x-protobuf")
	if c.rejected > 0 {
		_, _ = w.Write(partialSuccessBytes(c.rejected, "spans too old"))
	}
}

func (c *httpCollector) requests() []*tracepb.TracesData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.TracesData(nil), c.reqs...)
}

// compose returns a dispatch of storage and l, shut down at the end of the test.
func compose(t testing.TB, l *Layer) *subscriber.Dispatch {
	t.Helper()
	d, err := subscriber.New(storage.New(), l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	return d
}

func testLayer(t testing.TB, opts ...Option) *Layer {
	t.Helper()
	l, err := New(append([]Option{WithLogf(func(string, ...any) {})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.Shutdown(ctx)
	})
	return l
}

func flush(t testing.TB, l *Layer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// attrMap indexes attributes by key.
func attrMap(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := make(map[string]*commonpb.AnyValue, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func spanIDBytes(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func byName(spans []*tracepb.Span) map[string]*tracepb.Span {
	m := make(map[string]*tracepb.Span, len(spans))
	for _, s := range spans {
		m[s.Name] = s
	}
	return m
}
