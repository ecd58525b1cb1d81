package filter_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

var (
	hintTargets = []string{"", "songs", "songs/db", "songs/db/pool", "songsx", "vendor", "vendor/lastfm"}
	hintNames   = []string{"HTTP request", "vendor.lastfm.task", "db.query"}
	hintFields  = [][]slog.Attr{
		nil,
		{slog.String("http.method", "POST")},
		{slog.String("http.method", "GET")},
		{slog.Int("user.id", 42), slog.String("http.method", "POST")},
	}
	hintLevels = []subscriber.Level{subscriber.LevelTrace, subscriber.LevelDebug, subscriber.LevelInfo,
		subscriber.LevelWarn, subscriber.LevelError}
)

// hintProbe sees every span and event (it has no filter) and asks each filter under
// test what it would say, next to what its hints promised.
type hintProbe struct {
	filters map[string]subscriber.Filter

	mu         sync.Mutex
	violations []string
	pruned     int // checks where a hint ruled the level out
	enabled    int // checks where the filter enabled
}

func (p *hintProbe) OnNewSpan(s subscriber.SpanRef, fields []slog.Attr) {
	p.check(s.Metadata(), subscriber.Scope{Parent: s.Parent(), Fields: fields})
}

func (p *hintProbe) OnEvent(ev *subscriber.Event) {
	p.check(&ev.Meta, subscriber.Scope{Parent: ev.Span, Fields: ev.Attrs})
}

func (p *hintProbe) check(meta *subscriber.Metadata, scope subscriber.Scope) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, f := range p.filters {
		on := f.Enabled(meta, scope)
		if on {
			p.enabled++
		}
		th := f.(subscriber.TargetHinter).TargetLevelHint(meta.Target)
		lh := f.(subscriber.LevelHinter).LevelHint()
		if meta.Level < th || meta.Level < lh {
			p.pruned++
			if on {
				p.violations = append(p.violations, fmt.Sprintf("%s: %s %q (target %q) at %v is enabled, but hints say target %v, level %v",
					name, meta.Kind, meta.Name, meta.Target, meta.Level, th, lh))
			}
		}
	}
}

func TestHintsOnlyPruneWhatEnabledRejects(t *testing.T) {
	filters := map[string]subscriber.Filter{}
	for _, s := range []string{
		"", "info", "off", "trace",
		"info,songs/db=debug,songs/vendor=off",
		"songs/db=debug",
		"warn,songs=info,songs/db=trace,songs/db/pool=off",
		"error,[vendor.lastfm.task]=trace",
		"off,songs[HTTP request{http.method=POST}]=debug",
		"info,songs/db=off,[db.query]=debug",
		"warn,[{user.id=42}]=trace,vendor=off",
		"[{http.method}]=info",
		"songs/db[db.query]=debug,songs=error",
	} {
		filters["directives "+s] = mustParse(t, s)
	}
	filters["level warn"] = filter.Level(subscriber.LevelWarn)
	filters["target songs"] = filter.Target("songs")
	filters["and"] = filter.And(filter.Level(subscriber.LevelInfo), filter.Target("songs/db"), mustParse(t, "songs=debug"))
	filters["or"] = filter.Or(filter.Level(subscriber.LevelError), mustParse(t, "songs/db=debug,[db.query]=trace"))
	filters["not"] = filter.Not(filter.Target("songs"))
	filters["or of and"] = filter.Or(filter.And(filter.Target("vendor"), filter.Level(subscriber.LevelDebug)), filter.InSpan("db.query"))
	filters["reloadable"] = filter.NewReloadable(mustParse(t, "info,[HTTP request]=debug"))

	probe := &hintProbe{filters: filters}
	d, err := subscriber.New(probe)
	if err != nil {
		t.Fatal(err)
	}

	// Random trees of spans, three deep, with events at every level from every target
	// inside each span.
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() (*subscriber.Tracer, subscriber.Level, string, []slog.Attr) {
		return d.Tracer(hintTargets[rng.IntN(len(hintTargets))]), hintLevels[rng.IntN(len(hintLevels))],
			hintNames[rng.IntN(len(hintNames))], hintFields[rng.IntN(len(hintFields))]
	}
	for range 150 {
		ctx := context.Background()
		var spans []subscriber.Span
		for range 3 {
			tr, lvl, name, fields := pick()
			var s subscriber.Span
			ctx, s = tr.StartLevel(ctx, lvl, name, fields...)
			spans = append(spans, s)
			for _, target := range hintTargets {
				for _, l := range hintLevels {
					d.Tracer(target).Log(ctx, l, "event", fields...)
				}
			}
		}
		for i := len(spans) - 1; i >= 0; i-- {
			spans[i].End()
		}
	}

	if len(probe.violations) > 0 {
		n := min(len(probe.violations), 20)
		t.Errorf("%d hints ruled out what Enabled accepts; first %d:\n%s", len(probe.violations), n,
			strings.Join(probe.violations[:n], "\n"))
	}
	// The property is vacuous unless hints prune and filters enable in many cases.
	if probe.pruned < 10000 || probe.enabled < 10000 {
		t.Errorf("too few interesting checks: pruned %d, enabled %d", probe.pruned, probe.enabled)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Errorf("%d span records leaked", n)
	}
}

func TestStaticDirectiveHintsAreExact(t *testing.T) {
	f := mustParse(t, "warn,songs=info,songs/db=debug,songs/vendor=off")
	for target, want := range map[string]subscriber.Level{
		"songs": subscriber.LevelInfo, "songs/http": subscriber.LevelInfo, "songs/db": subscriber.LevelDebug,
		"songs/db/pool": subscriber.LevelDebug, "songs/vendor": subscriber.LevelOff, "songsx": subscriber.LevelWarn,
		"": subscriber.LevelWarn,
	} {
		if got := f.TargetLevelHint(target); got != want {
			t.Errorf("TargetLevelHint(%q) = %v, want %v", target, got, want)
		}
	}
	if got := f.LevelHint(); got != subscriber.LevelDebug {
		t.Errorf("LevelHint = %v, want DEBUG", got)
	}
	// A span directive can enable events of any target inside its spans.
	g := mustParse(t, "warn,songs/vendor=off,[vendor.lastfm.task]=trace")
	if got := g.TargetLevelHint("songs/vendor"); got != subscriber.LevelTrace {
		t.Errorf("with a span directive, TargetLevelHint = %v, want TRACE", got)
	}
}

func TestCombinatorHints(t *testing.T) {
	info, debug := filter.Level(subscriber.LevelInfo), filter.Level(subscriber.LevelDebug)
	db := filter.Target("songs/db")
	hints := func(f subscriber.Filter, target string) (subscriber.Level, subscriber.Level) {
		return f.(subscriber.LevelHinter).LevelHint(), f.(subscriber.TargetHinter).TargetLevelHint(target)
	}
	for _, c := range []struct {
		name             string
		f                subscriber.Filter
		target           string
		level, targetLvl subscriber.Level
	}{
		{"And takes the max", filter.And(info, debug), "x", subscriber.LevelInfo, subscriber.LevelInfo},
		{"And with a target outside", filter.And(debug, db), "songs/http", subscriber.LevelDebug, subscriber.LevelOff},
		{"And with a target inside", filter.And(debug, db), "songs/db/pool", subscriber.LevelDebug, subscriber.LevelDebug},
		{"And of nothing", filter.And(), "x", subscriber.LevelTrace, subscriber.LevelTrace},
		{"Or takes the min", filter.Or(info, debug), "x", subscriber.LevelDebug, subscriber.LevelDebug},
		{"Or of nothing", filter.Or(), "x", subscriber.LevelOff, subscriber.LevelOff},
		{"Or with a function", filter.Or(info, filter.Func(func(*subscriber.Metadata) bool { return false })), "x",
			subscriber.LevelTrace, subscriber.LevelTrace},
		{"Not", filter.Not(info), "x", subscriber.LevelTrace, subscriber.LevelTrace},
	} {
		l, tl := hints(c.f, c.target)
		if l != c.level || tl != c.targetLvl {
			t.Errorf("%s: hints %v, %v (target %q); want %v, %v", c.name, l, tl, c.target, c.level, c.targetLvl)
		}
	}
}
