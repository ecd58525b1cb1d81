package filter_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

// BenchmarkDirectivesEnabled measures Enabled for a three-directive filter; the
// metadata's target matches the longest directive, a shorter one, or none.
func BenchmarkDirectivesEnabled(b *testing.B) {
	f := mustParse(b, "info,songs/db=debug,songs/vendor=off")
	for _, c := range []struct{ name, target string }{
		{"longest", "songs/db/pool"},
		{"second", "songs/vendor"},
		{"default", "other/package"},
	} {
		m := &subscriber.Metadata{Name: "q", Target: c.target, Level: subscriber.LevelDebug, Kind: subscriber.KindEvent}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Enabled(m, subscriber.Scope{})
			}
		})
	}
}

// BenchmarkLevelEnabled is the baseline: one comparison behind an interface call.
func BenchmarkLevelEnabled(b *testing.B) {
	f := filter.Level(subscriber.LevelInfo)
	m := &subscriber.Metadata{Name: "q", Target: "songs/db/pool", Level: subscriber.LevelDebug}
	b.ReportAllocs()
	for b.Loop() {
		f.Enabled(m, subscriber.Scope{})
	}
}

// BenchmarkDirectivesEnabledInSpan measures an event two spans deep that only a span
// directive with a field enables.
func BenchmarkDirectivesEnabledInSpan(b *testing.B) {
	f := mustParse(b, "warn,songs[HTTP request{http.method=POST}]=debug,[vendor.lastfm.task]=trace")
	probe := &scopeProbe{f: f}
	d := subscriber.MustNew(probe)
	tr := d.Tracer("songs/http")
	ctx, req := tr.Start(context.Background(), "HTTP request", slog.String("http.method", "POST"))
	ctx, q := tr.Start(ctx, "db.query")
	b.ReportAllocs()
	probe.b = b
	tr.Debug(ctx, "query")
	q.End()
	req.End()
	if !probe.ok {
		b.Fatal("the event was not enabled")
	}
}

// scopeProbe runs the benchmark loop inside OnEvent, where the scope is valid.
type scopeProbe struct {
	f  subscriber.Filter
	b  *testing.B
	ok bool
}

func (p *scopeProbe) OnEvent(ev *subscriber.Event) {
	if p.b == nil {
		return
	}
	scope := subscriber.Scope{Parent: ev.Span, Fields: ev.Attrs}
	p.b.ResetTimer()
	for p.b.Loop() {
		p.ok = p.f.Enabled(&ev.Meta, scope)
	}
}

// BenchmarkReloadableEnabled is the same three directives behind a Reloadable.
func BenchmarkReloadableEnabled(b *testing.B) {
	r := filter.NewReloadable(mustParse(b, "info,songs/db=debug,songs/vendor=off"))
	m := &subscriber.Metadata{Name: "q", Target: "songs/db/pool", Level: subscriber.LevelDebug}
	b.ReportAllocs()
	for b.Loop() {
		r.Enabled(m, subscriber.Scope{})
	}
}

// BenchmarkDisabledByTarget is the whole cost of a span from a target the directives
// turn off, through a tracer.
func BenchmarkDisabledByTarget(b *testing.B) {
	d := subscriber.MustNew(subscriber.WithFilter(&rec{}, mustParse(b, "info,songs/db=debug,songs/vendor=off")))
	tr := d.Tracer("songs/vendor")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, "vendor.lastfm.task")
		s.End()
	}
}
