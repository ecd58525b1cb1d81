package nethttp_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/instrument/internal/instrumenttest"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// The shared test propagator (instrumenttest), under the names these tests use.
const testHeader = instrumenttest.Header

type (
	testPropagator = instrumenttest.Propagator
	remoteSpan     = instrumenttest.RemoteSpan
)

// closed is what the recorder copies of a span when it closes.
type closed struct {
	name     string
	target   string
	id       registry.SpanID
	parent   registry.SpanID
	trace    registry.TraceID
	remote   *subscriber.RemoteParent
	fields   map[string]string
	route    string // http.route as storage sees it: own, else inherited
	failed   bool
	err      string
	duration time.Duration
}

// recorder is a layer that keeps every closed span.
type recorder struct {
	mu    sync.Mutex
	spans []closed
	added chan struct{}
}

func newRecorder() *recorder { return &recorder{added: make(chan struct{}, 1)} }

func (r *recorder) OnClose(s subscriber.SpanRef) {
	c := closed{
		name: s.Name(), target: s.Metadata().Target, id: s.ID(), parent: s.ParentID(),
		trace: s.TraceID(), remote: s.Remote(), fields: map[string]string{},
		failed: s.Failed(), duration: s.Duration(),
	}
	for _, a := range s.Fields(nil) {
		c.fields[a.Key] = a.Value.String()
	}
	if err := s.Err(); err != nil {
		c.err = err.Error()
	}
	if v, ok := storage.Lookup(s, "http.route"); ok {
		c.route = v.String()
	}
	r.mu.Lock()
	r.spans = append(r.spans, c)
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
}

// find returns the closed span named name, waiting up to 2s for it.
func (r *recorder) find(t *testing.T, name string) closed {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		r.mu.Lock()
		for _, s := range r.spans {
			if s.name == name {
				r.mu.Unlock()
				return s
			}
		}
		names := make([]string, 0, len(r.spans))
		for _, s := range r.spans {
			names = append(names, s.name)
		}
		r.mu.Unlock()
		select {
		case <-r.added:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no closed span named %q; closed: %q", name, names)
		}
	}
}

// has reports whether a span named name has closed (without waiting).
func (r *recorder) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if s.name == name {
			return true
		}
	}
	return false
}

// service is one side of a test: a dispatch with storage, a recorder and the test
// propagator. At the end of the test it checks that every span record was released.
type service struct {
	d   *subscriber.Dispatch
	rec *recorder
	tr  *subscriber.Tracer
}

func newService(t *testing.T, layers ...subscriber.Layer) *service {
	t.Helper()
	rec := newRecorder()
	all := append([]subscriber.Layer{storage.New(), rec, testPropagator{}}, layers...)
	d, err := subscriber.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	s := &service{d: d, rec: rec, tr: d.Tracer("test")}
	t.Cleanup(func() {
		waitLive(t, d, 0)
		_ = d.Shutdown(context.Background())
	})
	return s
}

// waitLive waits (briefly: a server span ends just after its response went out) for the
// registry's live count to reach want.
func waitLive(t *testing.T, d *subscriber.Dispatch, want int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for d.Registry().Live() != want {
		if time.Now().After(deadline) {
			t.Errorf("live spans = %d, want %d: a span was not ended", d.Registry().Live(), want)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// field checks one field of a closed span.
func field(t *testing.T, s closed, key, want string) {
	t.Helper()
	got, ok := s.fields[key]
	if !ok {
		t.Errorf("span %q has no field %s, want %q (fields: %v)", s.name, key, want, s.fields)
		return
	}
	if got != want {
		t.Errorf("span %q: %s = %q, want %q", s.name, key, got, want)
	}
}

// noField checks that a closed span lacks a field.
func noField(t *testing.T, s closed, key string) {
	t.Helper()
	if v, ok := s.fields[key]; ok {
		t.Errorf("span %q has field %s=%q, want none", s.name, key, v)
	}
}

// reset forgets the spans recorded so far.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = nil
}
