package nethttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
)

// valueCtx is a context type that == cannot compare (it holds a map): a comparison
// of two of them panics at run time.
type valueCtx struct {
	context.Context
	m map[string]string
}

// With no dispatch installed (the no-op default), requests whose ctx cannot be compared
// pass through Middleware and Transport untouched.
func TestUncomparableContextsDoNotPanic(t *testing.T) {
	ctx := valueCtx{Context: context.Background(), m: map[string]string{}}
	reached := false
	h := nethttp.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = r.Context().Value("x") == nil
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if !reached {
		t.Error("the handler was not reached")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := (&http.Client{Transport: nethttp.Transport(nil)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}
