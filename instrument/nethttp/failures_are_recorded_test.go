package nethttp_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
)

// syncBuffer is a log destination the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A 5xx response marks both spans ERROR; the server span is not failed, as no error
// value was given, and the client's 4xx counts as ERROR too.
func TestServerErrorStatusesAreErrors(t *testing.T) {
	client, server := newService(t), newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", 410) })
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	defer srv.Close()
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(client.d),
		nethttp.WithSpanName(func(r *http.Request, _ string) string { return "call " + r.URL.Path }))}

	for _, path := range []string{"/down", "/gone"} {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	down := server.rec.find(t, "GET /down")
	field(t, down, "http.status_code", "503")
	field(t, down, "otel.status_code", "ERROR")
	gone := server.rec.find(t, "GET /gone")
	field(t, gone, "http.status_code", "410")
	field(t, gone, "otel.status_code", "OK")
	field(t, client.rec.find(t, "call /down"), "otel.status_code", "ERROR")
	field(t, client.rec.find(t, "call /gone"), "otel.status_code", "ERROR")
}

// A panic in the handler ends the span failed with the panic, then goes on: net/http
// recovers it (and logs it), and the server goes on serving.
func TestPanicIsRecordedAndReraised(t *testing.T) {
	server := newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewUnstartedServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	var logs syncBuffer
	srv.Config.ErrorLog = log.New(&logs, "", 0)
	srv.Start()
	defer srv.Close()

	if resp, err := http.Get(srv.URL + "/boom"); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("a panicking handler answered %d; net/http should have dropped the connection", resp.StatusCode)
	}
	s := server.rec.find(t, "GET /boom")
	if !s.failed || s.err != "panic: boom" {
		t.Errorf("span failed=%v err=%q, want failed with panic: boom", s.failed, s.err)
	}
	field(t, s, "otel.status_code", "ERROR")
	noField(t, s, "http.status_code")
	if !strings.Contains(logs.String(), "panic serving") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("net/http did not log the re-raised panic; its log: %q", logs.String())
	}
	if code := get(t, srv.URL+"/ok"); code != 200 {
		t.Errorf("after the panic the server answered %d", code)
	}
}

// A missing, malformed or hostile propagation header never fails the request: the
// server span starts its own trace.
func TestMalformedPropagationHeaderNeverFailsTheRequest(t *testing.T) {
	server := newService(t)
	srv := httptest.NewServer(nethttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), nethttp.WithDispatch(server.d), nethttp.WithSpanName(func(r *http.Request, _ string) string {
		return r.Header.Get("X-Case")
	})))
	defer srv.Close()

	cases := map[string]string{
		"empty":     "",
		"garbage":   "garbage",
		"no span":   "0123456789abcdef0123456789abcdef/",
		"zero span": "0123456789abcdef0123456789abcdef/0",
		"bad trace": "XYZ3456789abcdef0123456789abcdef/12",
		"huge":      strings.Repeat("/", 4000),
		"binary":    "\xff\xfe/\x80",
	}
	for name, header := range cases {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("X-Case", name)
		if header != "" {
			req.Header[testHeader] = []string{header}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Errorf("%s: response %d %q, want 200 ok", name, resp.StatusCode, b)
		}
		s := server.rec.find(t, name)
		if s.remote != nil || s.trace.IsZero() || s.parent != 0 {
			t.Errorf("%s: span remote=%v trace=%s parent=%d, want a new root trace", name, s.remote, s.trace, s.parent)
		}
	}
}

// A round trip that fails ends the client span failed with its error.
func TestTransportErrorIsRecorded(t *testing.T) {
	client := newService(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(client.d))}
	ctx, caller := client.tr.Start(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://user:secret@"+addr+"/songs", strings.NewReader("x"))
	if _, err := hc.Do(req); err == nil {
		t.Fatal("request to a closed port succeeded")
	}
	caller.End()
	s := client.rec.find(t, "POST "+addr)
	if !s.failed || !strings.Contains(s.err, "refused") {
		t.Errorf("span failed=%v err=%q, want the connection error", s.failed, s.err)
	}
	field(t, s, "otel.status_code", "ERROR")
	field(t, s, "http.url", "http://"+addr+"/songs")
	noField(t, s, "http.status_code")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A base RoundTripper that panics ends the client span failed, and the panic goes on.
func TestTransportPanicEndsTheSpan(t *testing.T) {
	client := newService(t)
	rt := nethttp.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) { panic("broken transport") }),
		nethttp.WithDispatch(client.d))
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	func() {
		defer func() {
			if p := recover(); p != "broken transport" {
				t.Errorf("recovered %v, want the transport's panic", p)
			}
		}()
		_, _ = rt.RoundTrip(req)
	}()
	s := client.rec.find(t, "GET 127.0.0.1:1")
	if !s.failed || s.err != "panic: broken transport" {
		t.Errorf("span failed=%v err=%q", s.failed, s.err)
	}
}
