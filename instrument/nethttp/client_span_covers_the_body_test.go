package nethttp_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/subscriber"
)

// The client span ends when the body has been read, not when the headers arrived: it
// covers a body that comes slowly. A body closed unread ends it too, and a HEAD (no
// body) ends it at once.
func TestClientSpanCoversTheBody(t *testing.T) {
	client := newService(t)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "65536")
		_, _ = io.WriteString(w, strings.Repeat("x", 1<<16))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	name := func(r *http.Request, _ string) string { return r.Method + " " + r.URL.Path }
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(client.d), nethttp.WithSpanName(name))}

	resp, err := hc.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if client.rec.has("GET /slow") {
		t.Fatal("the client span ended before its body was read")
	}
	close(release)
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "first second" {
		t.Errorf("body %q", b)
	}
	s := client.rec.find(t, "GET /slow") // ended at io.EOF, before Close
	if s.duration < 30*time.Millisecond {
		t.Errorf("client span lasted %v, want it to cover the body's 30ms", s.duration)
	}
	noField(t, s, "http.response_content_length") // chunked: unknown
	_ = resp.Body.Close()

	resp, err = hc.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // unread
	field(t, client.rec.find(t, "GET /big"), "http.response_content_length", "65536")

	resp, err = hc.Head(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	field(t, client.rec.find(t, "HEAD /big"), "http.status_code", "200")
	_ = resp.Body.Close()
}

// A client span that a filter rejects does not stop the trace: the caller's span goes
// to the server in its place.
func TestDisabledClientSpanStillPropagatesTheCaller(t *testing.T) {
	noHTTP := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool {
		return m.Target != nethttp.DefaultTarget
	})
	rec := newRecorder()
	// The propagator is filtered too: a layer with no filter wants every span.
	d, err := subscriber.New(subscriber.WithFilter(rec, noHTTP), subscriber.WithFilter(testPropagator{}, noHTTP))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { waitLive(t, d, 0) }()
	server := newService(t)
	srv := httptest.NewServer(nethttp.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		nethttp.WithDispatch(server.d)))
	defer srv.Close()

	ctx, caller := d.Tracer("test").Start(context.Background(), "caller", slog.Bool("x", true))
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(d))}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	callerID := caller.ID()
	caller.End()

	entry := server.rec.find(t, "GET")
	if entry.remote == nil || entry.remote.Data.(remoteSpan).ID != callerID {
		t.Errorf("server span's remote parent = %+v, want the caller span %d", entry.remote, callerID)
	}
	if rec.has("GET " + strings.TrimPrefix(srv.URL, "http://")) {
		t.Error("the filtered client span reached the layer")
	}
}

// Without WithDispatch both sides use the default dispatch, as it is at request time.
func TestDefaultDispatchIsUsed(t *testing.T) {
	svc := newService(t)
	restore := subscriber.SetDefault(svc.d)
	defer restore()
	srv := httptest.NewServer(nethttp.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	hc := &http.Client{Transport: nethttp.Transport(nil)}
	ctx, caller := svc.tr.Start(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	caller.End()
	exit := svc.rec.find(t, "GET "+strings.TrimPrefix(srv.URL, "http://"))
	entry := svc.rec.find(t, "GET")
	if entry.remote == nil || entry.remote.Data.(remoteSpan).ID != exit.id || entry.trace != exit.trace {
		t.Errorf("with the default dispatch the server span did not continue the client span")
	}
}
