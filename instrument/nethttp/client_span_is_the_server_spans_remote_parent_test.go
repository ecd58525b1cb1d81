package nethttp_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
)

// A request through Transport (client service) and Middleware (server service, another
// dispatch in the same process) is one trace: the server's entry span continues the
// client's, its remote parent is the client's exit span, and spans the handler starts
// are the entry span's children.
func TestClientSpanIsTheServerSpansRemoteParent(t *testing.T) {
	client, server := newService(t), newService(t)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, child := server.tr.Start(r.Context(), "db.lookup", slog.String("song", r.PathValue("id")))
		child.End()
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ctx, caller := client.tr.Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/songs/42?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "strata-test")
	req.Header.Set("X-Keep", "1")
	before := req.Header.Clone()
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(client.d))}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(b) != "hello" || resp.StatusCode != http.StatusCreated {
		t.Fatalf("response %d %q %v, want 201 hello", resp.StatusCode, b, err)
	}
	caller.End()

	if !maps.EqualFunc(req.Header, before, func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }) {
		t.Errorf("the caller's request headers changed: %v, were %v", req.Header, before)
	}

	callerSpan := client.rec.find(t, "caller")
	exit := client.rec.find(t, "GET "+host)
	entry := server.rec.find(t, "GET /songs/{id}")
	child := server.rec.find(t, "db.lookup")

	if exit.parent != callerSpan.id || exit.trace != callerSpan.trace {
		t.Errorf("exit span: parent %d trace %s, want the caller's %d %s", exit.parent, exit.trace, callerSpan.id, callerSpan.trace)
	}
	if entry.trace != exit.trace {
		t.Errorf("server span trace %s, want the client's %s", entry.trace, exit.trace)
	}
	if entry.remote == nil || entry.remote.Propagator != "test" {
		t.Fatalf("server span remote parent = %+v, want one from the test propagator", entry.remote)
	}
	if got := entry.remote.Data.(remoteSpan).ID; got != exit.id {
		t.Errorf("server span's remote parent is span %d, want the client's exit span %d", got, exit.id)
	}
	if child.parent != entry.id || child.trace != entry.trace {
		t.Errorf("handler's span: parent %d, want the entry span %d", child.parent, entry.id)
	}
	if child.route != "/songs/{id}" {
		t.Errorf("handler's span inherits http.route %q, want /songs/{id}", child.route)
	}
	if entry.target != nethttp.DefaultTarget || exit.target != nethttp.DefaultTarget {
		t.Errorf("targets %q and %q, want %q", entry.target, exit.target, nethttp.DefaultTarget)
	}

	field(t, exit, "otel.kind", "client")
	field(t, exit, "http.method", "GET")
	field(t, exit, "http.url", srv.URL+"/songs/42?x=1")
	field(t, exit, "peer", host)
	field(t, exit, "http.status_code", "201")
	field(t, exit, "http.response_content_length", "5")
	field(t, exit, "otel.status_code", "OK")
	if exit.failed {
		t.Errorf("exit span failed: %s", exit.err)
	}

	field(t, entry, "otel.kind", "server")
	field(t, entry, "otel.name", "GET /songs/{id}")
	field(t, entry, "http.method", "GET")
	field(t, entry, "http.route", "/songs/{id}")
	field(t, entry, "http.target", "/songs/42?x=1")
	field(t, entry, "http.host", host)
	field(t, entry, "http.scheme", "http")
	field(t, entry, "http.flavor", "1.1")
	field(t, entry, "http.client_ip", "127.0.0.1")
	field(t, entry, "http.user_agent", "strata-test")
	field(t, entry, "http.request_content_length", "0")
	field(t, entry, "http.status_code", "201")
	field(t, entry, "http.response_content_length", "5")
	field(t, entry, "otel.status_code", "OK")
	if entry.failed {
		t.Errorf("entry span failed: %s", entry.err)
	}
}

// Transport writes the trace into a copy of the request: a stale header the caller set
// stays in the caller's request, and the server sees the current one.
func TestTransportNeverChangesTheCallersRequest(t *testing.T) {
	client, server := newService(t), newService(t)
	seen := make(chan string, 1)
	srv := httptest.NewServer(nethttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get(testHeader)
	}), nethttp.WithDispatch(server.d)))
	defer srv.Close()

	ctx, caller := client.tr.Start(context.Background(), "caller")
	defer caller.End()
	u, _ := url.Parse(srv.URL + "/x")
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{testHeader: {"stale"}}}
	req = req.WithContext(ctx)
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(client.d))}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := req.Header.Values(testHeader); len(got) != 1 || got[0] != "stale" {
		t.Errorf("caller's %s header = %q, want it untouched", testHeader, got)
	}
	if got := <-seen; got == "stale" || !strings.HasPrefix(got, caller.TraceID().String()+"/") {
		t.Errorf("server saw %s = %q, want the current trace %s", testHeader, got, caller.TraceID())
	}

	// A request with no header map at all works too.
	req2 := &http.Request{Method: http.MethodGet, URL: u}
	resp, err = hc.Do(req2.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if req2.Header != nil {
		t.Errorf("a nil header map became %v", req2.Header)
	}
	if got := <-seen; !strings.HasPrefix(got, caller.TraceID().String()+"/") {
		t.Errorf("server saw %s = %q, want the current trace", testHeader, got)
	}
}
