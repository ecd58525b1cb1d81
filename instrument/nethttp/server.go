package nethttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"

	"github.com/strata-go/strata/subscriber"
)

// router is what *http.ServeMux offers to find the pattern of a request without serving
// it. A handler that has it (a ServeMux, or a type embedding one) gets its route into the
// span name.
type router interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

type middleware struct {
	next   http.Handler
	router router // next, when it is a ServeMux: asked for the pattern up front
	cfg    config
	tr     *subscriber.Tracer
}

// Middleware wraps next so that every request runs in an Entry span (otel.kind=server),
// named "METHOD route" after the Go 1.22+ ServeMux pattern that serves it
// ("GET /songs/{id}"). The span continues the caller's trace when one of the dispatch's
// propagators finds a remote parent in the request headers; a missing or malformed
// header starts a new trace and never fails the request. The handler's ctx
// (r.Context()) carries the span, so spans the handler starts are its children.
//
// The route is known in three ways, whichever applies first:
//
//   - Middleware inside a route (mux.Handle("GET /songs", nethttp.Middleware(h))):
//     r.Pattern is set when the request arrives.
//   - Middleware around a *http.ServeMux (or any handler with ServeMux's
//     Handler(*http.Request) (http.Handler, string) method): the middleware asks the mux
//     for the pattern before serving, which costs a second route lookup.
//   - Otherwise (other handlers between the middleware and the mux) the span is named
//     "METHOD" alone, and once the handler returns, http.route and otel.name are
//     recorded from the pattern the mux set on the request, if the request the mux saw
//     was the one the middleware passed on. The name itself cannot change after Start.
//
// Fields: http.client_ip, http.flavor, http.host, http.method, http.route (when known),
// http.request_content_length (when known), http.scheme, http.target, http.user_agent,
// otel.kind=server and otel.name at start; http.status_code,
// http.response_content_length and otel.status_code (ERROR for a 5xx status, OK
// otherwise) when the handler returns. A request that matched no route has no
// http.route.
//
// A panic in next ends the span with the panic as its error (otel.status_code=ERROR)
// and goes on, so net/http still recovers it and logs the stack (http.ErrAbortHandler
// keeps its meaning). The ResponseWriter next sees keeps the behaviour of the one it
// wraps: it implements http.Flusher, io.ReaderFrom, http.Hijacker (only when the
// wrapped one does) and Unwrap, so http.ResponseController reaches every other method.
func Middleware(next http.Handler, opts ...Option) http.Handler {
	m := &middleware{next: next, cfg: newConfig(opts)}
	m.tr = m.cfg.Tracer()
	if rt, ok := next.(router); ok {
		m.router = rt
	}
	return m
}

// ServeHTTP serves r through next inside the request's span.
func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := m.cfg.Dispatch()
	ctx := d.Extract(r.Context(), subscriber.HeaderCarrier(r.Header))
	if !m.tr.Enabled(subscriber.LevelInfo) {
		// No span, but the remote parent still reaches spans the handler starts.
		if changed(ctx, r.Context()) {
			r = r.WithContext(ctx)
		}
		m.next.ServeHTTP(w, r)
		return
	}
	pattern := r.Pattern
	if pattern == "" && m.router != nil {
		_, pattern = m.router.Handler(r)
	}
	route := routeOf(pattern)
	name := m.name(r, route)

	var buf [14]slog.Attr
	fields := append(buf[:0],
		slog.String("otel.kind", "server"),
		slog.String("otel.name", name),
		slog.String("http.method", r.Method),
		slog.String("http.scheme", m.scheme(r)),
		slog.String("http.host", r.Host),
		slog.String("http.target", target(r)),
		slog.String("http.flavor", flavor(r)),
		slog.String("http.client_ip", m.clientIP(r)),
		slog.String("http.user_agent", r.UserAgent()),
	)
	if route != "" {
		fields = append(fields, slog.String("http.route", route))
	}
	if r.ContentLength >= 0 { // -1: unknown (chunked)
		fields = append(fields, slog.Int64("http.request_content_length", r.ContentLength))
	}
	ctx, span := m.tr.Start(ctx, name, fields...)
	r2 := r.WithContext(ctx)
	if !span.IsRecording() { // a filter rejected it
		m.next.ServeHTTP(w, r2)
		return
	}
	rw, ww := wrap(w)
	finished := false
	defer func() {
		if finished {
			return
		}
		p := recover()
		err := errGoexit
		if p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		m.finish(span, rw, r2, route, err)
		if p != nil {
			panic(p)
		}
	}()
	m.next.ServeHTTP(ww, r2)
	finished = true
	m.finish(span, rw, r2, route, nil)
}

// errGoexit ends a span whose handler or round trip called runtime.Goexit.
var errGoexit = errors.New("goroutine exited inside the request (runtime.Goexit)")

// finish records the response and ends the span. err is a panic or Goexit of the handler.
func (m *middleware) finish(span subscriber.Span, rw *responseWriter, r *http.Request, route string, err error) {
	var buf [6]slog.Attr
	fields := buf[:0]
	status := rw.status
	if status == 0 && err == nil && !rw.hijacked {
		status = http.StatusOK // net/http writes 200 for a handler that wrote nothing
	}
	if status != 0 {
		fields = append(fields, slog.Int("http.status_code", status))
	}
	if !rw.hijacked {
		fields = append(fields, slog.Int64("http.response_content_length", rw.written))
	}
	code := "OK"
	if err != nil || status >= 500 {
		code = "ERROR"
	}
	fields = append(fields, slog.String("otel.status_code", code))
	if route == "" && r.Pattern != "" {
		// A mux further down set the pattern on the request it was given.
		route = routeOf(r.Pattern)
		fields = append(fields, slog.String("http.route", route), slog.String("otel.name", m.name(r, route)))
	}
	span.Record(fields...)
	span.EndErr(err)
}

// name is the span name for r: WithSpanName's, or "METHOD route" ("METHOD" without a
// route). A method outside the standard ones is named HTTP, so that a client cannot
// make up new span names.
func (m *middleware) name(r *http.Request, route string) string {
	if m.cfg.spanName != nil {
		return m.cfg.spanName(r, route)
	}
	method := knownMethod(r.Method)
	if route == "" {
		return method
	}
	return method + " " + route
}

// routeOf returns a ServeMux pattern without its method: "GET /songs/{id}" becomes
// "/songs/{id}", and a host pattern keeps its host ("example.com/songs").
func routeOf(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		return strings.TrimLeft(pattern[i:], " \t")
	}
	return pattern
}

func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "HTTP"
}

func target(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

func flavor(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 3:
		return "3"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	}
	return fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor)
}

func (m *middleware) scheme(r *http.Request) string {
	if m.cfg.forwarded {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func (m *middleware) clientIP(r *http.Request) string {
	if m.cfg.forwarded {
		if ip := forwardedFor(r.Header.Get("Forwarded")); ip != "" {
			return ip
		}
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := strings.TrimSpace(first); ip != "" {
				return ip
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// forwardedFor returns the for= value of the first element of an RFC 7239 Forwarded
// header, without quotes, brackets or port.
func forwardedFor(h string) string {
	if h == "" {
		return ""
	}
	first, _, _ := strings.Cut(h, ",")
	for part := range strings.SplitSeq(first, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		v = strings.Trim(v, `"`)
		if host, _, err := net.SplitHostPort(v); err == nil {
			return host
		}
		return strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	}
	return ""
}

// changed reports whether ctx is another context than base. A ctx of a type that
// cannot be compared with == (none in the standard library) counts as changed, rather
// than panicking.
func changed(ctx, base context.Context) bool {
	if t := reflect.TypeOf(ctx); t != nil && !t.Comparable() {
		return true
	}
	return ctx != base
}
