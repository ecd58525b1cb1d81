package grpctrace_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/instrument/internal/instrumenttest"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// The shared test propagator (instrumenttest), under the names these tests use; gRPC
// metadata keys are lower case.
var testKey = strings.ToLower(instrumenttest.Header)

type (
	testPropagator = instrumenttest.Propagator
	remoteSpan     = instrumenttest.RemoteSpan
)

// closed is what the recorder copies of a span when it closes.
type closed struct {
	name   string
	id     registry.SpanID
	parent registry.SpanID
	trace  registry.TraceID
	remote *subscriber.RemoteParent
	fields map[string]string
	failed bool
	err    string
}

// recorder is a layer that keeps every closed span.
type recorder struct {
	mu    sync.Mutex
	spans []closed
}

func (r *recorder) OnClose(s subscriber.SpanRef) {
	c := closed{name: s.Name(), id: s.ID(), parent: s.ParentID(), trace: s.TraceID(),
		remote: s.Remote(), fields: map[string]string{}, failed: s.Failed()}
	for _, a := range s.Fields(nil) {
		c.fields[a.Key] = a.Value.String()
	}
	if err := s.Err(); err != nil {
		c.err = err.Error()
	}
	r.mu.Lock()
	r.spans = append(r.spans, c)
	r.mu.Unlock()
}

// find returns the n-th (from 0) closed span named name, waiting up to 2s for it.
func (r *recorder) find(t *testing.T, name string, n int) closed {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		r.mu.Lock()
		var names []string
		seen := 0
		for _, s := range r.spans {
			if s.name == name {
				if seen == n {
					r.mu.Unlock()
					return s
				}
				seen++
			}
			names = append(names, s.name)
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no closed span #%d named %q; closed: %q", n, name, names)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// count returns how many spans named name have closed.
func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.spans {
		if s.name == name {
			n++
		}
	}
	return n
}

// service is one side of a test: a dispatch with storage, a recorder and the test
// propagator. At the end of the test it checks that every span record was released.
type service struct {
	d   *subscriber.Dispatch
	rec *recorder
	tr  *subscriber.Tracer
}

func newService(t *testing.T) *service {
	t.Helper()
	rec := &recorder{}
	d, err := subscriber.New(storage.New(), rec, testPropagator{})
	if err != nil {
		t.Fatal(err)
	}
	s := &service{d: d, rec: rec, tr: d.Tracer("test")}
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for d.Registry().Live() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d spans still live at the end: a span was not ended", n)
		}
		_ = d.Shutdown(context.Background())
	})
	return s
}

func field(t *testing.T, s closed, key, want string) {
	t.Helper()
	got, ok := s.fields[key]
	if !ok {
		t.Errorf("span %q has no field %s, want %q (fields: %v)", s.name, key, want, s.fields)
	} else if got != want {
		t.Errorf("span %q: %s = %q, want %q", s.name, key, got, want)
	}
}
