package nethttp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/strata-go/strata/subscriber"
)

type transport struct {
	base http.RoundTripper
	cfg  config
	tr   *subscriber.Tracer
}

// Transport wraps base (http.DefaultTransport when nil) so that every request runs in
// an Exit span (otel.kind=client) and carries the current trace to the server in
// headers, written by the dispatch's propagators. The span is a child of the span in the
// request's ctx, is named "METHOD host" ("GET api.example.com:8443", the URL's host as
// written; see [WithSpanName]) and has the fields otel.kind=client, http.method, http.url
// (without user and password), peer (host:port, the port from the scheme when the URL
// has none), then http.status_code, http.response_content_length (when known) and
// otel.status_code (ERROR for a failed round trip or a status of 400 or more, OK
// otherwise).
//
// The caller's request is never changed: headers go into a copy, as the RoundTripper
// contract asks. The span ends when the response body has been read to its end or
// closed, or when the round trip or a body read fails (the error is recorded), so it
// covers the whole exchange. A body that is never closed leaks its connection and
// leaves its span open; close every body.
//
//	client := &http.Client{Transport: nethttp.Transport(nil)}
func Transport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, cfg: newConfig(opts)}
	t.tr = t.cfg.Tracer()
	return t
}

// RoundTrip sends req in a client span.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := t.cfg.Dispatch()
	if req.URL == nil || !t.tr.Enabled(subscriber.LevelInfo) {
		// No span of ours; the caller's span (if any) still goes to the server.
		return t.base.RoundTrip(inject(d, req, req.Context()))
	}
	name := knownMethod(req.Method) + " " + req.URL.Host
	if t.cfg.spanName != nil {
		name = t.cfg.spanName(req, "")
	}
	ctx, span := t.tr.Start(req.Context(), name,
		slog.String("otel.kind", "client"),
		slog.String("http.method", req.Method),
		slog.String("http.url", withoutCredentials(req.URL)),
		slog.String("peer", peerOf(req.URL)),
	)
	if !span.IsRecording() {
		return t.base.RoundTrip(inject(d, req, ctx))
	}
	returned := false
	defer func() {
		if !returned { // base panicked (or called runtime.Goexit): end the span, let it go on
			p := recover()
			err := errGoexit
			if p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
			span.Record(slog.String("otel.status_code", "ERROR"))
			span.EndErr(err)
			if p != nil {
				panic(p)
			}
		}
	}()
	resp, err := t.base.RoundTrip(inject(d, req, ctx))
	returned = true
	if err != nil {
		span.Record(slog.String("otel.status_code", "ERROR"))
		span.EndErr(err)
		return resp, err
	}
	code := "OK"
	if resp.StatusCode >= 400 {
		code = "ERROR"
	}
	if resp.ContentLength >= 0 {
		span.Record(slog.Int("http.status_code", resp.StatusCode),
			slog.Int64("http.response_content_length", resp.ContentLength),
			slog.String("otel.status_code", code))
	} else {
		span.Record(slog.Int("http.status_code", resp.StatusCode), slog.String("otel.status_code", code))
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		span.End()
		return resp, nil
	}
	b := &body{rc: resp.Body, span: span}
	if _, ok := resp.Body.(io.Writer); ok {
		resp.Body = &readWriteBody{b} // 101 Switching Protocols: the body is the connection
	} else {
		resp.Body = b
	}
	return resp, nil
}

// inject returns req to send with ctx: a shallow copy carrying ctx, with a copy of the
// headers when a propagator writes one; req itself when there is nothing to change.
func inject(d *subscriber.Dispatch, req *http.Request, ctx context.Context) *http.Request {
	c := pendingHeaders{h: req.Header}
	d.Inject(ctx, &c)
	if len(c.kv) == 0 {
		if !changed(ctx, req.Context()) {
			return req
		}
		return req.WithContext(ctx)
	}
	r := req.WithContext(ctx)
	if req.Header != nil {
		r.Header = req.Header.Clone()
	} else {
		r.Header = make(http.Header, len(c.kv))
	}
	for _, kv := range c.kv {
		r.Header.Set(kv[0], kv[1])
	}
	return r
}

// pendingHeaders collects what the propagators write, so that the request is copied only
// when there is something to write. Get sees what was written, then the request's own.
type pendingHeaders struct {
	h  http.Header
	kv [][2]string
}

func (c *pendingHeaders) Get(key string) string {
	for i := len(c.kv) - 1; i >= 0; i-- {
		if http.CanonicalHeaderKey(c.kv[i][0]) == http.CanonicalHeaderKey(key) {
			return c.kv[i][1]
		}
	}
	return c.h.Get(key)
}

func (c *pendingHeaders) Set(key, value string) { c.kv = append(c.kv, [2]string{key, value}) }

// body ends the span when the response has been read or closed.
type body struct {
	rc   io.ReadCloser
	span subscriber.Span
}

// Read reads from the response body; io.EOF ends the span, another error ends it failed.
func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.span.End()
	} else if err != nil {
		b.span.Record(slog.String("otel.status_code", "ERROR"))
		b.span.EndErr(err)
	}
	return n, err
}

// Close closes the response body and ends the span (End is idempotent).
func (b *body) Close() error {
	err := b.rc.Close()
	b.span.End()
	return err
}

// readWriteBody keeps the io.Writer of a 101 response's body, which is the connection.
type readWriteBody struct{ *body }

func (b *readWriteBody) Write(p []byte) (int, error) { return b.rc.(io.Writer).Write(p) }

// peerOf returns host:port of u, with the scheme's port when u has none.
func peerOf(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" || u.Scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// withoutCredentials returns u as a string without its user info.
func withoutCredentials(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}
