package spanexport

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// captured is a copy of a span an Encoder got (the exporter recycles the original).
type captured struct {
	Span
	attrs  map[string]slog.Value
	events []Event
}

type sink struct {
	mu    sync.Mutex
	spans map[string]captured
}

func (k *sink) send(_ context.Context, batch []*Span) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range batch {
		c := captured{Span: *s, attrs: map[string]slog.Value{}}
		for _, a := range s.Attrs {
			c.attrs[a.Key] = a.Value
		}
		for _, ev := range s.Events {
			ev.Attrs = append([]slog.Attr(nil), ev.Attrs...)
			c.events = append(c.events, ev)
		}
		c.Span.Attrs, c.Span.Events, c.Span.Links = nil, nil, append([]Link(nil), s.Links...)
		k.spans[s.Name] = c
	}
	return nil
}

func compose(t *testing.T, layers ...subscriber.Layer) (*Exporter, *sink, *subscriber.Tracer) {
	t.Helper()
	k := &sink{spans: map[string]captured{}}
	e := New(Config{Pipeline: pipeline.Config{Name: "test", FlushInterval: time.Millisecond}}, k.send)
	d, err := subscriber.New(append([]subscriber.Layer{storage.New(), e}, layers...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Shutdown(ctx)
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d records live", n)
		}
	})
	return e, k, d.Tracer("songs/db")
}

func TestClosedSpansCarryParentsEventsLinksAndStatus(t *testing.T) {
	e, k, tr := compose(t)
	ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"), slog.Int("http.status_code", 200))
	cctx, child := tr.Start(ctx, "db.insert", slog.String("metric_name", "db"), slog.Any("rows", []int{1, 2}))
	tr.Info(cctx, "inserted", slog.Int64("id", 7))
	tr.Warn(cctx, "slow", slog.String("error_msg", "deadline near"))
	child.EndErr(errors.New("boom"))
	task := tr.Go(ctx, "refresh", func(context.Context) error { return nil })
	if err := task.Wait(); err != nil {
		t.Fatal(err)
	}
	root.End()
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	r, c, g := k.spans["GET /songs"], k.spans["db.insert"], k.spans["refresh"]
	if r.Kind != KindServer || r.ParentID != 0 || r.Status != StatusUnset || r.Target != "songs/db" {
		t.Errorf("root: kind %v parent %d status %v target %q", r.Kind, r.ParentID, r.Status, r.Target)
	}
	if _, ok := r.attrs["otel.kind"]; ok {
		t.Errorf("otel.kind exported as an attribute")
	}
	if v := r.attrs["http.status_code"]; v.Kind() != slog.KindInt64 || v.Int64() != 200 {
		t.Errorf("http.status_code = %v (%v)", v, v.Kind())
	}
	if c.ParentID != uint64(r.SpanID) || c.TraceID != r.TraceID || c.Status != StatusError || c.StatusMessage != "boom" {
		t.Errorf("child: parent %d (root %d) status %v %q", c.ParentID, r.SpanID, c.Status, c.StatusMessage)
	}
	if _, ok := c.attrs["metric_name"]; ok {
		t.Errorf("metric_name exported")
	}
	if v := c.attrs["rows"]; v.Kind() != slog.KindString || v.String() != "[1 2]" {
		t.Errorf("rows = %v (%v)", v, v.Kind())
	}
	if len(c.events) != 2 || c.events[0].Message != "inserted" || len(c.events[0].Attrs) != 1 ||
		c.events[0].Attrs[0].Value.Int64() != 7 || c.events[1].Attrs[0].Key != "error_msg" {
		t.Errorf("child events %+v", c.events)
	}
	if len(g.Links) != 1 || g.Links[0].SpanID != r.SpanID || g.Links[0].TraceID != r.TraceID {
		t.Errorf("task links %+v, want the root %d", g.Links, r.SpanID)
	}
}

func TestAnErrorEventMarksItsSpanFailed(t *testing.T) {
	e, k, tr := compose(t)
	ctx, sp := tr.Start(context.Background(), "work")
	tr.Warn(ctx, "retrying", slog.String("error.message", "refused"))
	sp.End()
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.Flush(fctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if w := k.spans["work"]; w.Status != StatusError || w.StatusMessage != "refused" {
		t.Errorf("status %v %q", w.Status, w.StatusMessage)
	}
}

func TestRemoteParentsAndRawTraceIDs(t *testing.T) {
	e, k, tr := compose(t)
	ctx := subscriber.ContextWithRemote(context.Background(), &subscriber.RemoteParent{
		TraceID: registry.ParseTraceID("a1b2c3.45.16801234560001"), SpanID: 99, Sampled: true, Propagator: "test"})
	_, sp := tr.Start(ctx, "continued")
	sp.End()
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.Flush(fctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.spans["continued"]
	if c.ParentID != 99 || !c.RemoteParent {
		t.Errorf("parent %d remote %v", c.ParentID, c.RemoteParent)
	}
	if v := c.attrs[OriginalTraceIDKey]; v.String() != "a1b2c3.45.16801234560001" {
		t.Errorf("original id attribute %q", v)
	}
}

func TestTraceID128(t *testing.T) {
	id := registry.NewTraceID()
	if b, orig := TraceID128(id); orig != "" || b != must(id.Bytes()) {
		t.Errorf("a 128-bit id changed: %x %q", b, orig)
	}
	b, orig := TraceID128(registry.ParseTraceID("00F067AA0BA902B7"))
	if orig != "00F067AA0BA902B7" || b != [16]byte{8: 0, 9: 0xf0, 10: 0x67, 11: 0xaa, 12: 0x0b, 13: 0xa9, 14: 0x02, 15: 0xb7} {
		t.Errorf("64-bit hex id: %x %q", b, orig)
	}
	x, _ := TraceID128(registry.ParseTraceID("a1b2c3.45.16801234560001"))
	y, _ := TraceID128(registry.ParseTraceID("a1b2c3.45.16801234560001"))
	z, _ := TraceID128(registry.ParseTraceID("a1b2c3.45.16801234560002"))
	if x != y || x == z || x == [16]byte{} {
		t.Errorf("hashed ids: %x %x %x", x, y, z)
	}
}

func must(b [16]byte, _ bool) [16]byte { return b }
