package subscriber_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// locator records where spans and events say they came from.
type locator struct {
	mu    sync.Mutex
	lines map[string]int // name -> line
	files map[string]string
}

func (l *locator) WantsLocation() bool     { return true }
func (l *locator) WantsSpanLocation() bool { return true }

func (l *locator) note(m *subscriber.Metadata) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if loc := m.Location(); loc != nil {
		l.lines[m.Name] = loc.Line
		l.files[m.Name] = filepath.Base(loc.File)
	}
}

func (l *locator) OnNewSpan(s subscriber.SpanRef, _ []slog.Attr) { l.note(s.Metadata()) }
func (l *locator) OnEvent(ev *subscriber.Event)                  { l.note(&ev.Meta) }

func line() int {
	_, _, n, _ := runtime.Caller(1)
	return n
}

func TestLocationsPointAtTheCallersLine(t *testing.T) {
	l := &locator{lines: map[string]int{}, files: map[string]string{}}
	d := subscriber.MustNew(l)
	restore := subscriber.SetDefault(d)
	defer restore()
	tr := d.Tracer("test")
	ctx := context.Background()
	want := map[string]int{}

	ctx, s := tr.Start(ctx, "Tracer.Start")
	want["Tracer.Start"] = line() - 1
	defer s.End()
	tr.Info(ctx, "Tracer.Info")
	want["Tracer.Info"] = line() - 1
	tr.Log(ctx, subscriber.LevelWarn, "Tracer.Log")
	want["Tracer.Log"] = line() - 1
	subscriber.Info(ctx, "subscriber.Info")
	want["subscriber.Info"] = line() - 1
	_, s2 := subscriber.Start(ctx, "subscriber.Start")
	want["subscriber.Start"] = line() - 1
	s2.End()
	_ = tr.Do(ctx, "Tracer.Do", func(context.Context) error { return nil })
	want["Tracer.Do"] = line() - 1
	slog.New(d.SlogHandler("test")).InfoContext(ctx, "slog")
	want["slog"] = line() - 1

	for name, n := range want {
		if l.lines[name] != n || l.files[name] != "locations_test.go" {
			t.Errorf("%s: location %s:%d, want locations_test.go:%d", name, l.files[name], l.lines[name], n)
		}
	}
}

func TestNoLayerWantingLocationsMeansNoPC(t *testing.T) {
	var pcs []uintptr
	probe := &closeProbe{fn: func(s subscriber.SpanRef) { pcs = append(pcs, s.Metadata().PC) }}
	d := subscriber.MustNew(probe)
	_, s := d.Tracer("test").Start(context.Background(), "span")
	s.End()
	if len(pcs) != 1 || pcs[0] != 0 {
		t.Fatalf("PCs = %v, want one zero PC", pcs)
	}
}
