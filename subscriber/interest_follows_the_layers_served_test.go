package subscriber_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// servant is a Serving layer, like storage.
type servant struct{ counter }

func (*servant) ServesOthers() bool { return true }

// fieldLayer wants spans with metric_* fields and events with counter.* fields, like
// the metrics layer; it remembers the PC of the last event it saw.
type fieldLayer struct {
	counter
	lastPC atomic.Uintptr
}

func (*fieldLayer) WantedFields() (span, event []string) {
	return []string{"metric_"}, []string{"counter."}
}

func (f *fieldLayer) OnEvent(ev *subscriber.Event) {
	f.events.Add(1)
	f.lastPC.Store(ev.Meta.PC)
}

// locPrinter is filtered at INFO and prints locations, like logfmt in the README.
type locPrinter struct{ counter }

func (*locPrinter) WantsLocation() bool { return true }

type readmeLike struct {
	serve  *servant
	print  *locPrinter
	fields *fieldLayer
	tr     *subscriber.Tracer
	d      *subscriber.Dispatch
}

func composeReadmeLike(t testing.TB, extra ...subscriber.Layer) readmeLike {
	r := readmeLike{serve: &servant{}, print: &locPrinter{}, fields: &fieldLayer{}}
	layers := append(extra, r.serve, subscriber.WithFilter(r.print, levelFilter(subscriber.LevelInfo)), r.fields)
	r.d = subscriber.MustNew(layers...)
	r.tr = r.d.Tracer("test")
	return r
}

func (r readmeLike) seen() (serve, print, fields int64) {
	return r.serve.newSpans.Load() + r.serve.events.Load(),
		r.print.newSpans.Load() + r.print.events.Load(),
		r.fields.newSpans.Load() + r.fields.events.Load()
}

// A layer that serves others (storage) wants no more than they do, and a layer that wants
// fields (metrics) wants only calls that carry them: with the README's composition a
// DEBUG span or event that neither the INFO-filtered layer nor the field layer wants
// reaches no layer and allocates nothing.
func TestDebugCallsNoLayerWantsReachNoneAndAllocateNothing(t *testing.T) {
	r := composeReadmeLike(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		sctx, span := r.tr.StartLevel(ctx, subscriber.LevelDebug, "debug span", slog.String("k", "v"), slog.Int("n", 1))
		r.tr.Debug(sctx, "debug event", slog.String("k", "v"), slog.Int("n", 1))
		r.tr.Debug(sctx, "debug event without fields")
		span.End()
	})
	if allocs != 0 {
		t.Errorf("DEBUG span and events allocate %.1f times, want 0", allocs)
	}
	if s, p, f := r.seen(); s+p+f != 0 {
		t.Errorf("layers saw %d, %d, %d hooks for calls none of them wants", s, p, f)
	}
	if r.d.Registry().Live() != 0 {
		t.Errorf("Live() = %d", r.d.Registry().Live())
	}
}

func TestServingAndFieldLayersFollowWhatTheyServeAndWant(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name                 string
		call                 func(tr *subscriber.Tracer)
		serve, print, fields int64
	}{
		{"debug span with a metric field", func(tr *subscriber.Tracer) {
			_, s := tr.StartLevel(ctx, subscriber.LevelDebug, "db", slog.String("metric_name", "db_event"))
			s.End()
		}, 1, 0, 1},
		{"info span without metric fields", func(tr *subscriber.Tracer) {
			_, s := tr.Start(ctx, "request", slog.String("k", "v"))
			s.End()
		}, 1, 1, 0},
		{"info span with a metric field", func(tr *subscriber.Tracer) {
			_, s := tr.Start(ctx, "request", slog.String("metric_name", "req"))
			s.End()
		}, 1, 1, 1},
		{"debug event with a counter field", func(tr *subscriber.Tracer) {
			tr.Debug(ctx, "hit", slog.Int("counter.hits", 1))
		}, 1, 0, 1},
		{"info event", func(tr *subscriber.Tracer) { tr.Info(ctx, "hello") }, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := composeReadmeLike(t)
			tc.call(r.tr)
			if s, p, f := r.seen(); s != tc.serve || p != tc.print || f != tc.fields {
				t.Errorf("serving, printing, field layers saw %d, %d, %d calls; want %d, %d, %d", s, p, f, tc.serve, tc.print, tc.fields)
			}
		})
	}
}

// An event's location is captured only when a layer that prints locations enabled it.
func TestLocationIsCapturedOnlyForEventsALocationLayerEnabled(t *testing.T) {
	r := composeReadmeLike(t)
	ctx := context.Background()
	r.tr.Debug(ctx, "only the field layer wants this", slog.Int("counter.hits", 1))
	if pc := r.fields.lastPC.Load(); pc != 0 {
		t.Errorf("a DEBUG event the locPrinter filtered out captured PC %#x", pc)
	}
	r.tr.Info(ctx, "the locPrinter wants this", slog.Int("counter.hits", 1))
	if pc := r.fields.lastPC.Load(); pc == 0 {
		t.Error("an INFO event the locPrinter enabled has no PC")
	}
}

// A global filter bounds every layer, the serving and field layers too.
func TestGlobalFilterBoundsEveryLayer(t *testing.T) {
	r := composeReadmeLike(t, subscriber.GlobalFilter(levelFilter(subscriber.LevelWarn)))
	ctx := context.Background()
	_, s := r.tr.Start(ctx, "request", slog.String("metric_name", "req"))
	s.End()
	r.tr.Info(ctx, "info", slog.Int("counter.hits", 1))
	if s, p, f := r.seen(); s+p+f != 0 {
		t.Errorf("layers saw %d, %d, %d INFO calls under a WARN global filter", s, p, f)
	}
	if r.tr.Enabled(subscriber.LevelInfo) {
		t.Error("Enabled(INFO) under a WARN global filter")
	}
	r.tr.Warn(ctx, "warn")
	if s, p, _ := r.seen(); s != 1 || p != 1 {
		t.Errorf("a WARN event reached %d serving, %d printing layers; want 1, 1", s, p)
	}
}

// propagatorOnly carries context across processes and observes nothing.
type propagatorOnly struct{}

func (propagatorOnly) Extract(subscriber.Carrier) (*subscriber.RemoteParent, bool) { return nil, false }
func (propagatorOnly) Inject(subscriber.SpanRef, subscriber.Carrier)               {}

// A layer with no span or event hook (a propagator) wants no span: composing it next to
// a filtered layer keeps disabled spans free.
func TestAPropagatorOnlyLayerEnablesNoSpan(t *testing.T) {
	c := &counter{}
	d := subscriber.MustNew(propagatorOnly{}, subscriber.WithFilter(c, levelFilter(subscriber.LevelInfo)))
	tr := d.Tracer("test")
	if tr.Enabled(subscriber.LevelDebug) {
		t.Error("a propagator-only layer lowered the level floor to DEBUG")
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, s := tr.StartLevel(context.Background(), subscriber.LevelDebug, "debug", slog.String("k", "v"))
		s.End()
	})
	if allocs != 0 || d.Registry().Live() != 0 {
		t.Errorf("a DEBUG span allocated %.0f times with a propagator-only layer composed", allocs)
	}
}
