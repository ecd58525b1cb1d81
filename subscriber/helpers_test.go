package subscriber_test

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/subscriber"
)

// counter counts hooks; it is safe for concurrent use.
type counter struct {
	newSpans, closes, events, records atomic.Int64
}

func (c *counter) OnNewSpan(subscriber.SpanRef, []slog.Attr) { c.newSpans.Add(1) }
func (c *counter) OnRecord(subscriber.SpanRef, []slog.Attr)  { c.records.Add(1) }
func (c *counter) OnEvent(*subscriber.Event)                 { c.events.Add(1) }
func (c *counter) OnClose(subscriber.SpanRef)                { c.closes.Add(1) }

// closeProbe runs fn inside every OnClose.
type closeProbe struct {
	mu sync.Mutex
	fn func(subscriber.SpanRef)
}

func (p *closeProbe) OnClose(s subscriber.SpanRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(s)
}

// levelFilter enables levels at or above its value and hints so.
type levelFilter subscriber.Level

func (l levelFilter) Enabled(m *subscriber.Metadata, _ subscriber.Scope) bool {
	return m.Level >= subscriber.Level(l)
}
func (l levelFilter) LevelHint() subscriber.Level { return subscriber.Level(l) }
