package datadog_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	"github.com/tinylib/msgp/msgp"
)

// ddSpan is a span as the fake agent decoded it.
type ddSpan struct {
	Service, Name, Resource, Type string
	TraceID, SpanID, ParentID     uint64
	Start, Duration               int64
	Error                         int32
	Meta                          map[string]string
	Metrics                       map[string]float64
}

// fakeAgent is an Agent's trace intake on 127.0.0.1: it decodes every payload with
// msgp's readers (not the encoder under test) and answers with its rates.
type fakeAgent struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	payloads   [][][]ddSpan
	headers    []http.Header
	answer     string // the JSON answer; "" for {}
	status     []int  // the statuses to answer with, in turn; then 200
	hold       chan struct{}
	decodeErrs []error
}

func newFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	a := &fakeAgent{t: t}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) url() string { return a.srv.URL }

func (a *fakeAgent) setAnswer(s string) { a.mu.Lock(); a.answer = s; a.mu.Unlock() }

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/v0.4/traces" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	a.mu.Lock()
	hold := a.hold
	a.mu.Unlock()
	if hold != nil {
		<-hold
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.status) > 0 {
		code := a.status[0]
		a.status = a.status[1:]
		if code != http.StatusOK {
			http.Error(w, "no", code)
			return
		}
	}
	traces, err := decodePayload(body)
	if err != nil {
		a.decodeErrs = append(a.decodeErrs, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.payloads = append(a.payloads, traces)
	a.headers = append(a.headers, r.Header.Clone())
	w.Header().Set("Content-Type", "application/json")
	if a.answer == "" {
		_, _ = io.WriteString(w, "{}")
	} else {
		_, _ = io.WriteString(w, a.answer)
	}
}

// spans returns every span received, in the order received.
func (a *fakeAgent) spans() []ddSpan {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.decodeErrs) > 0 {
		a.t.Errorf("payloads that did not decode: %v", a.decodeErrs)
	}
	var out []ddSpan
	for _, p := range a.payloads {
		for _, tr := range p {
			out = append(out, tr...)
		}
	}
	return out
}

func (a *fakeAgent) find(t *testing.T, name string) ddSpan {
	t.Helper()
	for _, s := range a.spans() {
		if s.Resource == name || s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d received", name, len(a.spans()))
	return ddSpan{}
}

// decodePayload reads a v0.4 payload: an array of traces, each an array of span maps.
func decodePayload(b []byte) ([][]ddSpan, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	var out [][]ddSpan
	for range n {
		var m uint32
		m, b, err = msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		var tr []ddSpan
		for range m {
			var s ddSpan
			s, b, err = decodeSpan(b)
			if err != nil {
				return nil, err
			}
			tr = append(tr, s)
		}
		out = append(out, tr)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the payload", len(b))
	}
	return out, nil
}

func decodeSpan(b []byte) (ddSpan, []byte, error) {
	var s ddSpan
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return s, b, fmt.Errorf("span: %w", err)
	}
	seen := map[string]bool{}
	for range n {
		var k string
		if k, b, err = msgp.ReadStringBytes(b); err != nil {
			return s, b, err
		}
		if seen[k] {
			return s, b, fmt.Errorf("span key %q twice", k)
		}
		seen[k] = true
		switch k {
		case "service":
			s.Service, b, err = msgp.ReadStringBytes(b)
		case "name":
			s.Name, b, err = msgp.ReadStringBytes(b)
		case "resource":
			s.Resource, b, err = msgp.ReadStringBytes(b)
		case "type":
			s.Type, b, err = msgp.ReadStringBytes(b)
		case "trace_id":
			s.TraceID, b, err = msgp.ReadUint64Bytes(b)
		case "span_id":
			s.SpanID, b, err = msgp.ReadUint64Bytes(b)
		case "parent_id":
			s.ParentID, b, err = msgp.ReadUint64Bytes(b)
		case "start":
			s.Start, b, err = msgp.ReadInt64Bytes(b)
		case "duration":
			s.Duration, b, err = msgp.ReadInt64Bytes(b)
		case "error":
			s.Error, b, err = msgp.ReadInt32Bytes(b)
		case "meta":
			var m uint32
			if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
				return s, b, err
			}
			s.Meta = map[string]string{}
			for range m {
				var mk, mv string
				if mk, b, err = msgp.ReadStringBytes(b); err != nil {
					return s, b, err
				}
				if mv, b, err = msgp.ReadStringBytes(b); err != nil {
					return s, b, err
				}
				if _, dup := s.Meta[mk]; dup {
					return s, b, fmt.Errorf("meta key %q twice", mk)
				}
				s.Meta[mk] = mv
			}
		case "metrics":
			var m uint32
			if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
				return s, b, err
			}
			s.Metrics = map[string]float64{}
			for range m {
				var mk string
				var mv float64
				if mk, b, err = msgp.ReadStringBytes(b); err != nil {
					return s, b, err
				}
				if mv, b, err = msgp.ReadFloat64Bytes(b); err != nil {
					return s, b, err
				}
				if _, dup := s.Metrics[mk]; dup {
					return s, b, fmt.Errorf("metrics key %q twice", mk)
				}
				s.Metrics[mk] = mv
			}
		default:
			return s, b, fmt.Errorf("unknown span key %q", k)
		}
		if err != nil {
			return s, b, fmt.Errorf("span %s: %w", k, err)
		}
	}
	for _, k := range []string{"service", "name", "resource", "trace_id", "span_id", "parent_id", "start", "duration", "error", "meta", "metrics", "type"} {
		if !seen[k] {
			return s, b, fmt.Errorf("span without %q", k)
		}
	}
	return s, b, nil
}

// service is a dispatch with storage and a datadog layer.
type service struct {
	d  *subscriber.Dispatch
	dd *datadog.Layer
	tr *subscriber.Tracer
}

func newService(t *testing.T, opts ...datadog.Option) *service {
	t.Helper()
	opts = append([]datadog.Option{datadog.WithLogf(func(string, ...any) {})}, opts...)
	dd, err := datadog.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := subscriber.New(storage.New(), dd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	return &service{d: d, dd: dd, tr: d.Tracer("test")}
}

func (s *service) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.dd.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// downURL is an http URL on 127.0.0.1 where nothing listens.
func downURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newServiceWith composes storage and l.
func newServiceWith(t *testing.T, l *datadog.Layer) *service {
	t.Helper()
	d, err := subscriber.New(storage.New(), l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
	})
	return &service{d: d, dd: l, tr: d.Tracer("test")}
}

// unsetenv removes k for the test (t.Setenv first, so that it is restored).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
