package nethttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// discard is a layer that wants every span and does nothing with it.
type discard struct{}

func (discard) OnClose(subscriber.SpanRef) {}

func benchMiddleware(b *testing.B, opts ...nethttp.Option) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	h := nethttp.Middleware(mux, opts...)
	req := httptest.NewRequest(http.MethodGet, "/songs/42", nil)
	req.Header.Set(testHeader, "0123456789abcdef0123456789abcdef/12")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// The whole per-request cost of the middleware around a ServeMux: extract, route
// lookup, span start and end through storage, the response wrapper.
func BenchmarkMiddleware(b *testing.B) {
	d := subscriber.MustNew(storage.New(), discard{}, testPropagator{})
	benchMiddleware(b, nethttp.WithDispatch(d))
}

// With no dispatch installed the middleware costs next to nothing.
func BenchmarkMiddlewareNoDispatch(b *testing.B) { benchMiddleware(b) }
