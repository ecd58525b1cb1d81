package storage_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// probe is a layer composed after storage that reads storage in its own hooks, the way
// logfmt and metrics do. Its callbacks run inside the hooks, while the SpanRef is valid.
type probe struct {
	mu      sync.Mutex
	onClose func(span subscriber.SpanRef)
	onEvent func(ev *subscriber.Event)
	onNew   func(span subscriber.SpanRef)
}

func (p *probe) OnNewSpan(span subscriber.SpanRef, _ []slog.Attr) {
	if p.onNew != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.onNew(span)
	}
}

func (p *probe) OnEvent(ev *subscriber.Event) {
	if p.onEvent != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.onEvent(ev)
	}
}

func (p *probe) OnClose(span subscriber.SpanRef) {
	if p.onClose != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.onClose(span)
	}
}

// compose returns a tracer over storage followed by p, and checks at the end of the test
// that every span record was released.
func compose(t testing.TB, p *probe, layers ...subscriber.Layer) *subscriber.Tracer {
	t.Helper()
	if len(layers) == 0 {
		layers = []subscriber.Layer{storage.New()}
	}
	d, err := subscriber.New(append(layers, p)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d span records still live after the test: a span was not ended or a reference leaked", n)
		}
	})
	return d.Tracer("storage_test")
}

// visible returns span's fields as storage.Range yields them, "k=v" in order.
func visible(span subscriber.SpanRef) []string {
	var out []string
	storage.Range(span, func(k string, v slog.Value) bool {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
		return true
	})
	return out
}
