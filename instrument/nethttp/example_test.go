package nethttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// traceHeader carries the trace id in one made-up header. A real service composes a
// layer that propagates (the SkyWalking layer's sw8, the W3C layer's traceparent).
type traceHeader struct{}

func (traceHeader) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	id := registry.ParseTraceID(c.Get("X-Example-Trace"))
	return &subscriber.RemoteParent{TraceID: id, Propagator: "example"}, !id.IsZero()
}

func (traceHeader) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	c.Set("X-Example-Trace", span.TraceID().String())
}

// spanPrinter prints each span as it ends.
type spanPrinter struct{}

func (spanPrinter) OnClose(s subscriber.SpanRef) {
	kind, _ := s.Field("otel.kind")
	status, _ := s.Field("http.status_code")
	fmt.Printf("%s span %q status=%v continues a remote trace: %v\n", kind, s.Name(), status, s.Remote() != nil)
}

func Example() {
	d := subscriber.MustNew(spanPrinter{}, traceHeader{})
	defer d.Shutdown(context.Background())
	restore := subscriber.SetDefault(d) // what main does; or pass nethttp.WithDispatch(d)
	defer restore()

	// The server: every route of the mux is traced.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "song %s", r.PathValue("id"))
	})
	srv := httptest.NewServer(nethttp.Middleware(mux))
	defer srv.Close()

	// The client: every request is traced and carries the trace to the server.
	client := &http.Client{Transport: nethttp.Transport(nil,
		nethttp.WithSpanName(func(r *http.Request, _ string) string { return r.Method + " songs" }))}
	resp, err := client.Get(srv.URL + "/songs/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body) // the client span ends here, at the end of the body
	_ = resp.Body.Close()
	fmt.Println(string(body))
	// Output:
	// server span "GET /songs/{id}" status=200 continues a remote trace: true
	// client span "GET songs" status=200 continues a remote trace: false
	// song 42
}
