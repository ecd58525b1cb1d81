// Package nethttp instruments net/http servers and clients with Strata spans, and carries
// traces between services in HTTP headers.
//
// # Servers
//
// [Middleware] runs every request in an Entry span (otel.kind=server) named after the
// route that serves it, with the fields of the HTTP semantic conventions that
// tracing-actix-web records (http.method, http.route, http.status_code, ...). Wrap the
// whole ServeMux, or single routes:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /songs", createSong)
//	mux.HandleFunc("GET /songs/{id}", getSong)
//	log.Fatal(http.ListenAndServe(":8080", nethttp.Middleware(mux))) // "POST /songs", "GET /songs/{id}"
//
//	mux.Handle("GET /health", nethttp.Middleware(health)) // one route: "GET /health"
//
// Around a ServeMux the middleware asks the mux which pattern matches before serving
// (the span name is fixed when the span starts); inside a route it reads r.Pattern. The
// handler's r.Context() carries the span, so spans the handler starts with it are the
// request's children and events it logs are in the request.
//
// # Clients
//
// [Transport] wraps an http.RoundTripper: every request runs in an Exit span
// (otel.kind=client, peer=host:port) that is a child of the span in the request's ctx,
// and the trace goes to the server in headers:
//
//	client := &http.Client{Transport: nethttp.Transport(http.DefaultTransport)}
//	req, _ := http.NewRequestWithContext(ctx, "GET", "http://vendor:8080/lookup", nil)
//	resp, err := client.Do(req) // the span ends when resp.Body is read or closed
//
// # Propagation
//
// Which headers carry the trace is the composed layers' choice, not this package's: the
// middleware calls [subscriber.Dispatch.Extract] on the request headers and the
// transport calls [subscriber.Dispatch.Inject] on the outgoing ones, so composing the
// SkyWalking layer gives sw8 and the W3C layer gives traceparent. A missing or malformed
// header never fails a request; the server span then starts a new trace.
//
// Both use the default dispatch unless given [WithDispatch], which lets two services
// live in one process (a test, a gateway that is its own client).
package nethttp
