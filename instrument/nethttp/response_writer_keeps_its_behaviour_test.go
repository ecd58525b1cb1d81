package nethttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
)

// The writer the handler gets flushes, copies with ReadFrom, answers
// http.ResponseController, and hijacks over HTTP/1.1.
func TestResponseWriterKeepsFlushReadFromAndHijack(t *testing.T) {
	server := newService(t)
	problems := make(chan string, 8)
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			problems <- "not an http.Flusher"
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			problems <- "not an io.ReaderFrom"
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			problems <- "SetWriteDeadline: " + err.Error()
		}
		_, _ = io.WriteString(w, "abc")
		if err := rc.Flush(); err != nil {
			problems <- "Flush: " + err.Error()
		}
		_, _ = io.Copy(w, strings.NewReader("defgh")) // through ReadFrom
	})
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			problems <- "Hijack: " + err.Error()
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = buf.Flush()
	})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "abcdefgh" {
		t.Errorf("body %q, want abcdefgh", b)
	}
	s := server.rec.find(t, "GET /stream")
	field(t, s, "http.response_content_length", "8")
	field(t, s, "http.status_code", "200")

	resp, err = http.Get(srv.URL + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(b) != "hi" {
		t.Errorf("hijacked body %q, want hi", b)
	}
	s = server.rec.find(t, "GET /raw")
	noField(t, s, "http.status_code")
	noField(t, s, "http.response_content_length")
	field(t, s, "otel.status_code", "OK")

	close(problems)
	for p := range problems {
		t.Error(p)
	}
}

// Over HTTP/2 (TLS) the writer flushes but does not claim to be an http.Hijacker, as
// the writer it wraps is not one; flavor and scheme say so.
func TestResponseWriterOverHTTP2IsNoHijacker(t *testing.T) {
	client, server := newService(t), newService(t)
	hijacker := make(chan bool, 1)
	srv := httptest.NewUnstartedServer(nethttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(http.Hijacker)
		hijacker <- ok
		w.(http.Flusher).Flush()
	}), nethttp.WithDispatch(server.d)))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	hc := &http.Client{Transport: nethttp.Transport(srv.Client().Transport, nethttp.WithDispatch(client.d))}
	resp, err := hc.Get(srv.URL + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if <-hijacker {
		t.Error("the writer claims http.Hijacker over HTTP/2")
	}
	s := server.rec.find(t, "GET")
	field(t, s, "http.flavor", "2")
	field(t, s, "http.scheme", "https")
	exit := client.rec.find(t, "GET "+strings.TrimPrefix(srv.URL, "https://"))
	field(t, exit, "peer", strings.TrimPrefix(srv.URL, "https://"))
	if s.remote == nil || s.trace != exit.trace {
		t.Errorf("over HTTP/2 the server span did not continue the client's trace")
	}
}

// Behind a proxy, WithForwardedHeaders takes the client ip and scheme from the proxy's
// headers; without it they are ignored (a client can send anything).
func TestForwardedHeadersOnlyWhenAsked(t *testing.T) {
	trusting, plain := newService(t), newService(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	srv1 := httptest.NewServer(nethttp.Middleware(h, nethttp.WithDispatch(trusting.d), nethttp.WithForwardedHeaders()))
	defer srv1.Close()
	srv2 := httptest.NewServer(nethttp.Middleware(h, nethttp.WithDispatch(plain.d)))
	defer srv2.Close()

	for _, c := range []struct{ header, value, ip string }{
		{"Forwarded", `for="[2001:db8::1]:4711";proto=https, for=10.0.0.1`, "2001:db8::1"},
		{"X-Forwarded-For", "203.0.113.7, 10.0.0.1", "203.0.113.7"},
	} {
		for _, srv := range []string{srv1.URL, srv2.URL} {
			req, _ := http.NewRequest(http.MethodGet, srv, nil)
			req.Header.Set(c.header, c.value)
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		s := trusting.rec.find(t, "GET")
		field(t, s, "http.client_ip", c.ip)
		field(t, s, "http.scheme", "https")
		s = plain.rec.find(t, "GET")
		field(t, s, "http.client_ip", "127.0.0.1")
		field(t, s, "http.scheme", "http")
		trusting.rec.reset()
		plain.rec.reset()
	}
}
