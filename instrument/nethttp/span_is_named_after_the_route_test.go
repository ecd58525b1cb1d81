package nethttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
)

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// Middleware around a ServeMux asks the mux for the pattern before serving, so the span
// is named after the route from its start; path values still reach the handler.
func TestSpanAroundAMuxIsNamedAfterTheRoute(t *testing.T) {
	server := newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.PathValue("id"))
	})
	mux.HandleFunc("/static/", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	defer srv.Close()

	if code := get(t, srv.URL+"/songs/7"); code != 200 {
		t.Fatalf("status %d", code)
	}
	s := server.rec.find(t, "GET /songs/{id}")
	field(t, s, "http.route", "/songs/{id}")
	field(t, s, "http.response_content_length", "1")

	get(t, srv.URL+"/static/a.css")
	field(t, server.rec.find(t, "GET /static/"), "http.route", "/static/")

	// No route: the span is named by the method alone and has no http.route.
	if code := get(t, srv.URL+"/nothing"); code != 404 {
		t.Fatalf("status %d, want 404", code)
	}
	s = server.rec.find(t, "GET")
	noField(t, s, "http.route")
	field(t, s, "http.status_code", "404")
	field(t, s, "otel.status_code", "OK")
}

// Middleware inside a route reads r.Pattern, set by the mux before it.
func TestSpanInsideARouteIsNamedAfterTheRoute(t *testing.T) {
	server := newService(t)
	mux := http.NewServeMux()
	mux.Handle("POST /songs", nethttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}), nethttp.WithDispatch(server.d)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/songs", "application/json", strings.NewReader(`{"title":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	s := server.rec.find(t, "POST /songs")
	field(t, s, "http.route", "/songs")
	field(t, s, "otel.name", "POST /songs")
	field(t, s, "http.request_content_length", "13")
	field(t, s, "http.response_content_length", "13")
}

// With another handler between the middleware and the mux, the name cannot know the
// route, but http.route and otel.name are recorded from the pattern the mux set.
func TestRouteLearnedAfterTheHandlerIsRecorded(t *testing.T) {
	server := newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	passThrough := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r) })
	srv := httptest.NewServer(nethttp.Middleware(passThrough, nethttp.WithDispatch(server.d)))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/songs/3", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	s := server.rec.find(t, "DELETE")
	field(t, s, "http.route", "/songs/{id}")
	field(t, s, "otel.name", "DELETE /songs/{id}")
	field(t, s, "http.status_code", "204")
}

// Span names stay low-cardinality: a made-up method is named HTTP; WithSpanName
// replaces the name and gets the route.
func TestSpanNamesAreBounded(t *testing.T) {
	server := newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/any", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(server.d)))
	defer srv.Close()
	req, _ := http.NewRequest("BREW", srv.URL+"/any", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	field(t, server.rec.find(t, "HTTP /any"), "http.method", "BREW")

	named := newService(t)
	srv2 := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(named.d),
		nethttp.WithSpanName(func(r *http.Request, route string) string { return "request " + route })))
	defer srv2.Close()
	get(t, srv2.URL+"/any")
	field(t, named.rec.find(t, "request /any"), "otel.name", "request /any")
}
