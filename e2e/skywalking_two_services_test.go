package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/strata-go/strata/instrument/grpctrace"
	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// swService is one service of a test: its own dispatch (storage + skywalking) reporting
// to the collector under its own name.
type swService struct {
	name string
	d    *subscriber.Dispatch
	tr   *subscriber.Tracer
	sw   *skywalking.Layer
}

func newSWService(t *testing.T, name, collector string) *swService {
	t.Helper()
	sw, err := skywalking.New(
		skywalking.WithCollector(collector),
		skywalking.WithService(name),
		skywalking.WithInstance(name+"-1"),
		// The contrib receiver serves no LogReportService (TestSkyWalkingCollectorBehaviour):
		// WARN events would go out as log records and fail Unimplemented. Events still
		// become span logs.
		skywalking.WithLogFilter(nil),
		skywalking.WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d, err := subscriber.New(storage.New(), sw)
	if err != nil {
		t.Fatal(err)
	}
	s := &swService{name: name, d: d, tr: d.Tracer("e2e/" + name), sw: sw}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown flushes the service's segments to the collector; a second call does nothing.
func (s *swService) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.d.Shutdown(ctx); err != nil {
		t.Errorf("%s: shutdown: %v", s.name, err)
	}
}

// backHTTP serves GET /songs/{id} (a db.query child span with an event) and GET /fail
// (an error event, then 500), through nethttp.Middleware, on 127.0.0.1.
func backHTTP(t *testing.T, back *swService) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx, db := back.tr.Start(r.Context(), "db.query", slog.String("db.system", "memory"))
		back.tr.Info(ctx, "song found", slog.String("song.id", r.PathValue("id")))
		db.End()
		_, _ = io.WriteString(w, "Sinnerman")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		back.tr.Error(r.Context(), "song store down", slog.Any("error", errors.New("disk full")))
		http.Error(w, "unavailable", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(back.d)))
	t.Cleanup(srv.Close)
	if u, _ := url.Parse(srv.URL); u.Hostname() != "127.0.0.1" {
		t.Fatalf("test server on %s, want 127.0.0.1", u.Host)
	}
	return srv
}

// songsRPC is the back service's gRPC side, on gRPC's own test service: a payload
// "fail" answers NotFound; any other starts a songs.lookup child span.
type songsRPC struct {
	testpb.UnimplementedTestServiceServer
	back *swService
}

func (s *songsRPC) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if string(req.GetPayload().GetBody()) == "fail" {
		return nil, status.Error(codes.NotFound, "no such song")
	}
	_, child := s.back.tr.Start(ctx, "songs.lookup")
	child.End()
	return &testpb.SimpleResponse{}, nil
}

func backGRPC(t *testing.T, back *swService) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(grpctrace.UnaryServerInterceptor(grpctrace.WithDispatch(back.d))))
	testpb.RegisterTestServiceServer(srv, &songsRPC{back: back})
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

const unaryCall = "/grpc.testing.TestService/UnaryCall"

// Two services composed in one process, each with storage + skywalking reporting to the
// collector: "front" calls "back" over HTTP (nethttp.Transport to nethttp.Middleware)
// and over gRPC (grpctrace interceptors), once successfully and once failing each, then
// starts a span from the ctx of a span whose segment was already reported. The
// collector sees one trace across both services: each back entry span's parent is the
// front exit span that called it, span ids are distinct, kinds, tags, error statuses
// and logs are what the calls did, and the late span refers to its ended parent with a
// CrossThread reference.
func TestSkyWalkingTwoServicesOneTrace(t *testing.T) {
	c := startSWCollector(t)
	front := newSWService(t, "front", c.Addr)
	back := newSWService(t, "back", c.Addr)
	web := backHTTP(t, back)
	rpcAddr := backGRPC(t, back)

	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: nethttp.Transport(transport, nethttp.WithDispatch(front.d)), Timeout: 5 * time.Second}
	conn, err := grpc.NewClient(rpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpctrace.UnaryClientInterceptor(grpctrace.WithDispatch(front.d))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	rpc := testpb.NewTestServiceClient(conn)

	get := func(ctx context.Context, path string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, web.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	ctx, root := front.tr.Start(context.Background(), "front.request")
	if code := get(ctx, "/songs/42"); code != http.StatusOK {
		t.Fatalf("GET /songs/42: %d", code)
	}
	if code := get(ctx, "/fail"); code != http.StatusInternalServerError {
		t.Fatalf("GET /fail: %d", code)
	}
	if _, err := rpc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ok")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rpc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("fail")}}); status.Code(err) != codes.NotFound {
		t.Fatalf("failing call: %v, want NotFound", err)
	}
	enqCtx, enqueue := front.tr.Start(ctx, "enqueue")
	enqueue.End()
	root.End()

	// front's segment is complete: deliver it, then start a span from the ctx of its
	// ended "enqueue" span, as a goroutine the request left behind would.
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := front.sw.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	_, late := front.tr.Start(enqCtx, "late")
	late.End()

	front.shutdown(t)
	back.shutdown(t)
	// front: root, 2 HTTP and 2 gRPC exits, enqueue, late; back: 2 HTTP entries and
	// db.query, 2 gRPC entries and songs.lookup.
	spans := c.WaitSpans(t, 13, 5*time.Second)
	if len(spans) != 13 {
		t.Fatalf("%d spans, want 13: %v", len(spans), spans)
	}

	// One trace, distinct span ids.
	trace := spans[0].TraceID()
	for _, s := range spans {
		if s.TraceID() != trace {
			t.Errorf("span %v is not in trace %s", s, trace)
		}
	}
	ids := spanIDs(spans)
	if len(slices.Compact(ids)) != len(spans) {
		t.Errorf("span ids repeat: %v", ids)
	}

	u, _ := url.Parse(web.URL)
	httpExitName := "GET " + u.Host
	frontRoot := findSpan(t, spans, "front", "front.request")
	if !frontRoot.ParentSpanID().IsEmpty() || frontRoot.Kind() != ptrace.SpanKindInternal {
		t.Errorf("front root: %v, want a root of kind Internal", frontRoot)
	}
	if frontRoot.Instance != "front-1" {
		t.Errorf("front's instance %q, want front-1", frontRoot.Instance)
	}

	// HTTP: the exits are children of the root; each back entry's parent is its exit.
	var httpExits []receivedSpan
	for _, s := range spans {
		if s.Service == "front" && s.Name() == httpExitName {
			httpExits = append(httpExits, s)
		}
	}
	if len(httpExits) != 2 {
		t.Fatalf("%d front spans %q, want 2: %v", len(httpExits), httpExitName, spans)
	}
	songEntry := findSpan(t, spans, "back", "GET /songs/{id}")
	failEntry := findSpan(t, spans, "back", "GET /fail")
	for _, entry := range []receivedSpan{songEntry, failEntry} {
		exit := parentOf(t, entry, httpExits)
		if exit.ParentSpanID() != frontRoot.SpanID() {
			t.Errorf("HTTP exit %v: parent is not the front root %s", exit, frontRoot.SpanID())
		}
		if entry.Kind() != ptrace.SpanKindServer || exit.Kind() != ptrace.SpanKindClient {
			t.Errorf("kinds: entry %s, exit %s; want Server, Client", entry.Kind(), exit.Kind())
		}
		wantAttr(t, entry, "http.method", "GET")
		wantAttr(t, exit, "http.method", "GET")
		if _, ok := entry.Attr("otel.kind"); ok {
			t.Errorf("entry %v has an otel.kind tag: internal keys are left out", entry)
		}
		ref := onlyLink(t, entry)
		wantLinkAttr(t, entry, ref, "refType", "CrossProcess")
		wantLinkAttr(t, entry, ref, "parent.service", "front")
		wantLinkAttr(t, entry, ref, "parent.service.instance", "front-1")
		wantLinkAttr(t, entry, ref, "parent.endpoint", "front.request")
		wantLinkAttr(t, entry, ref, "network.AddressUsedAtPeer", u.Host)
	}
	wantAttr(t, songEntry, "http.route", "/songs/{id}")
	wantAttr(t, songEntry, "http.status_code", "200")
	wantAttr(t, failEntry, "http.status_code", "500")
	if songEntry.Status().Code() != ptrace.StatusCodeOk || parentOf(t, songEntry, httpExits).Status().Code() != ptrace.StatusCodeOk {
		t.Errorf("the successful HTTP call has status %s (entry), want Ok on both sides", songEntry.Status().Code())
	}
	if failEntry.Status().Code() != ptrace.StatusCodeError || parentOf(t, failEntry, httpExits).Status().Code() != ptrace.StatusCodeError {
		t.Errorf("the failing HTTP call: entry status %s, want Error on both sides", failEntry.Status().Code())
	}

	// Logs: the back handlers' events are events of their spans.
	db := findSpan(t, spans, "back", "db.query")
	if db.ParentSpanID() != songEntry.SpanID() || db.Kind() != ptrace.SpanKindInternal {
		t.Errorf("db.query %v: want an Internal child of %v", db, songEntry)
	}
	wantAttr(t, db, "db.system", "memory")
	wantEvent(t, db, map[string]string{"event": "info", "message": "song found", "song.id": "42"})
	wantEvent(t, failEntry, map[string]string{"event": "error", "message": "song store down", "error": "disk full"})

	// gRPC: the same, with rpc.* tags; the failing call is an error on both sides.
	var rpcExits, rpcEntries []receivedSpan
	for _, s := range spans {
		if s.Name() == unaryCall {
			if s.Service == "front" {
				rpcExits = append(rpcExits, s)
			} else {
				rpcEntries = append(rpcEntries, s)
			}
		}
	}
	if len(rpcExits) != 2 || len(rpcEntries) != 2 {
		t.Fatalf("%d front and %d back spans %q, want 2 and 2", len(rpcExits), len(rpcEntries), unaryCall)
	}
	lookup := findSpan(t, spans, "back", "songs.lookup")
	failed := 0
	for _, entry := range rpcEntries {
		exit := parentOf(t, entry, rpcExits)
		if exit.ParentSpanID() != frontRoot.SpanID() {
			t.Errorf("gRPC exit %v: parent is not the front root", exit)
		}
		if entry.Kind() != ptrace.SpanKindServer || exit.Kind() != ptrace.SpanKindClient {
			t.Errorf("kinds: entry %s, exit %s; want Server, Client", entry.Kind(), exit.Kind())
		}
		for _, s := range []receivedSpan{entry, exit} {
			wantAttr(t, s, "rpc.system", "grpc")
			wantAttr(t, s, "rpc.service", "grpc.testing.TestService")
			wantAttr(t, s, "rpc.method", "UnaryCall")
		}
		wantLinkAttr(t, entry, onlyLink(t, entry), "network.AddressUsedAtPeer", rpcAddr)
		code, _ := entry.Attr("rpc.grpc.status_code")
		switch code {
		case "0":
			if entry.Status().Code() != ptrace.StatusCodeOk || exit.Status().Code() != ptrace.StatusCodeOk {
				t.Errorf("the successful gRPC call: statuses %s, %s; want Ok", entry.Status().Code(), exit.Status().Code())
			}
			if lookup.ParentSpanID() != entry.SpanID() {
				t.Errorf("songs.lookup's parent %s, want the successful call's entry %s", lookup.ParentSpanID(), entry.SpanID())
			}
		case "5": // NotFound
			failed++
			if entry.Status().Code() != ptrace.StatusCodeError || exit.Status().Code() != ptrace.StatusCodeError {
				t.Errorf("the failing gRPC call: statuses %s, %s; want Error", entry.Status().Code(), exit.Status().Code())
			}
			wantAttr(t, exit, "rpc.grpc.status_code", "5")
		default:
			t.Errorf("gRPC entry %v: rpc.grpc.status_code %q", entry, code)
		}
	}
	if failed != 1 {
		t.Errorf("%d failed gRPC entries, want 1", failed)
	}

	// The late span: its own segment, whose parent is the ended enqueue span, by a
	// CrossThread reference.
	enq := findSpan(t, spans, "front", "enqueue")
	lateSpan := findSpan(t, spans, "front", "late")
	if lateSpan.ParentSpanID() != enq.SpanID() {
		t.Errorf("late span's parent %s, want the ended enqueue span %s", lateSpan.ParentSpanID(), enq.SpanID())
	}
	lateSeg, _ := lateSpan.Attr("sw8.segment_id")
	enqSeg, _ := enq.Attr("sw8.segment_id")
	if lateSeg == "" || lateSeg == enqSeg {
		t.Errorf("late span in segment %q, want a segment of its own (enqueue's is %q)", lateSeg, enqSeg)
	}
	ref := onlyLink(t, lateSpan)
	wantLinkAttr(t, lateSpan, ref, "refType", "CrossThread")
	wantLinkAttr(t, lateSpan, ref, "sw8.parent_segment_id", enqSeg)
	if ref.SpanID() != enq.SpanID() {
		t.Errorf("late span's ref points at %s, want enqueue %s", ref.SpanID(), enq.SpanID())
	}
}

// parentOf returns the span of candidates that is s's parent.
func parentOf(t *testing.T, s receivedSpan, candidates []receivedSpan) receivedSpan {
	t.Helper()
	for _, c := range candidates {
		if c.SpanID() == s.ParentSpanID() {
			return c
		}
	}
	t.Fatalf("the parent %s of %v is none of %v", s.ParentSpanID(), s, candidates)
	return receivedSpan{}
}

func wantAttr(t *testing.T, s receivedSpan, key, want string) {
	t.Helper()
	if got, ok := s.Attr(key); !ok || got != want {
		t.Errorf("%v: %s = %q (present %v), want %q", s, key, got, ok, want)
	}
}

func onlyLink(t *testing.T, s receivedSpan) ptrace.SpanLink {
	t.Helper()
	if s.Links().Len() != 1 {
		t.Fatalf("%v has %d refs, want 1", s, s.Links().Len())
	}
	return s.Links().At(0)
}

func wantLinkAttr(t *testing.T, s receivedSpan, l ptrace.SpanLink, key, want string) {
	t.Helper()
	v, ok := l.Attributes().Get(key)
	if !ok || v.AsString() != want {
		t.Errorf("%v: ref %s = %q (present %v), want %q", s, key, v.AsString(), ok, want)
	}
}

// wantEvent checks that s has exactly one event (span log), with at least the given
// attributes.
func wantEvent(t *testing.T, s receivedSpan, want map[string]string) {
	t.Helper()
	if s.Events().Len() != 1 {
		t.Fatalf("%v has %d logs, want 1", s, s.Events().Len())
	}
	attrs := s.Events().At(0).Attributes()
	for k, w := range want {
		if v, ok := attrs.Get(k); !ok || v.AsString() != w {
			t.Errorf("%v: log %s = %q (present %v), want %q; log: %v", s, k, v.AsString(), ok, w, attrs.AsRaw())
		}
	}
}
