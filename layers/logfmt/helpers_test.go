package logfmt_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	gologfmt "github.com/go-logfmt/logfmt"

	"github.com/strata-go/strata/subscriber"
)

// kv is one decoded key/value pair.
type kv struct{ k, v string }

// line is one decoded line, pairs in order.
type line []kv

func (l line) keys() []string {
	out := make([]string, len(l))
	for i, p := range l {
		out[i] = p.k
	}
	return out
}

// get returns the value of key and whether the line has it; it fails the test when the
// key occurs more than once.
func (l line) get(t testing.TB, key string) (string, bool) {
	t.Helper()
	v, n := "", 0
	for _, p := range l {
		if p.k == key {
			v = p.v
			n++
		}
	}
	if n > 1 {
		t.Errorf("key %q occurs %d times in %v", key, n, l)
	}
	return v, n == 1
}

func (l line) must(t testing.TB, key string) string {
	t.Helper()
	v, ok := l.get(t, key)
	if !ok {
		t.Fatalf("line has no %q: %v", key, l)
	}
	return v
}

// decode decodes every line of data with go-logfmt's decoder, failing the test on any
// syntax error, and checks that no line holds a key twice.
func decode(t testing.TB, data []byte) []line {
	t.Helper()
	dec := gologfmt.NewDecoderSize(bytes.NewReader(data), max(len(data)+1, 4096))
	var out []line
	for dec.ScanRecord() {
		var l line
		seen := map[string]bool{}
		for dec.ScanKeyval() {
			k := string(dec.Key())
			if seen[k] {
				t.Errorf("duplicate key %q in line %d", k, len(out)+1)
			}
			seen[k] = true
			l = append(l, kv{k, string(dec.Value())})
		}
		out = append(out, l)
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("go-logfmt cannot decode the output: %v\n%s", err, data)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("output does not end with a newline: %q", data)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent use, counting Write calls.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

func (s *syncBuffer) Lines() []string {
	return strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
}

// closeProbe is a layer that runs fn in OnClose (composed after storage and logfmt).
type closeProbe func(span subscriber.SpanRef)

func (f closeProbe) OnClose(span subscriber.SpanRef) { f(span) }

// mustNew composes layers and checks at the end that no span record leaked.
func mustNew(t testing.TB, layers ...subscriber.Layer) *subscriber.Dispatch {
	t.Helper()
	d, err := subscriber.New(layers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Shutdown(context.Background())
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d span records live after the test", n)
		}
	})
	return d
}

var _ = slog.String
