package subscriber_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"

	"github.com/strata-go/strata/subscriber"
)

// recordLayer keeps every event it gets as a map in slogtest's shape: "time" (only when
// the event has one), "level", "msg", then the fields, with dotted keys (the bridge
// flattens groups) nested back into maps.
type recordLayer struct {
	mu   sync.Mutex
	last map[string]any
}

func (r *recordLayer) OnEvent(ev *subscriber.Event) {
	m := map[string]any{
		slog.LevelKey:   ev.Level().Slog(),
		slog.MessageKey: ev.Message,
	}
	if !ev.Time.IsZero() {
		m[slog.TimeKey] = ev.Time
	}
	for _, a := range ev.Attrs {
		dst := m
		parts := strings.Split(a.Key, ".")
		for _, g := range parts[:len(parts)-1] {
			sub, ok := dst[g].(map[string]any)
			if !ok {
				sub = map[string]any{}
				dst[g] = sub
			}
			dst = sub
		}
		dst[parts[len(parts)-1]] = a.Value.Any()
	}
	r.mu.Lock()
	r.last = m
	r.mu.Unlock()
}

// The slog bridge is a conforming slog.Handler: testing/slogtest's every case passes,
// among them "a zero time is not output".
func TestSlogHandlerPassesSlogtest(t *testing.T) {
	var rec *recordLayer
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		rec = &recordLayer{}
		return subscriber.MustNew(rec).SlogHandler("slogtest")
	}, func(t *testing.T) map[string]any {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.last
	})
}
