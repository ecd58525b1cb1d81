package filter_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

func TestReloadWhileSpansRunThenNewDirectivesApply(t *testing.T) {
	r := filter.NewReloadable(mustParse(t, "info,songs/db=off"))
	d, rc := filtered(t, r)
	db, http := d.Tracer("songs/db"), d.Tracer("songs/http")
	bg := context.Background()

	// Warm the tracers' caches under the first directives.
	db.Debug(bg, "warm")
	http.Debug(bg, "warm")
	if db.Enabled(subscriber.LevelError) || http.Enabled(subscriber.LevelDebug) {
		t.Fatal("songs/db should be off and songs/http at info before the reload")
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				ctx, req := http.Start(bg, "HTTP request", slog.String("http.method", "POST"))
				qctx, q := db.Start(ctx, "db.query", slog.Int("worker", w))
				db.Debug(qctx, "query")
				http.Info(ctx, "served")
				if i%2 == 0 {
					req.End() // the parent may end first
					q.End()
				} else {
					q.End()
					req.End()
				}
			}
		})
	}
	sets := []string{
		"info,songs/db=off",
		"trace",
		"warn,songs[HTTP request{http.method=POST}]=debug",
		"off,[db.query]=trace",
		"error,songs/db=debug",
	}
	for i := range 300 {
		if err := r.SetDirectives(sets[i%len(sets)]); err != nil {
			t.Fatal(err)
		}
		if err := r.SetDirectives("songs=loud"); err == nil {
			t.Fatal("a bad directive was accepted")
		}
	}
	stop.Store(true)
	wg.Wait()

	if err := r.SetDirectives("info,songs/db=debug,songs/http=warn"); err != nil {
		t.Fatal(err)
	}
	rc.take()
	ctx, req := http.Start(bg, "HTTP request")
	http.Info(ctx, "served")
	qctx, q := db.Start(ctx, "db.query")
	db.Debug(qctx, "query")
	db.Trace(qctx, "too verbose")
	q.End()
	req.End()
	expectSeen(t, rc.take(), []string{"span songs/db db.query", "event songs/db query"})
	if !db.Enabled(subscriber.LevelDebug) || http.Enabled(subscriber.LevelInfo) {
		t.Error("the tracers' cached interest does not follow the final directives")
	}
}

func TestSetDirectivesKeepsTheOldFilterOnError(t *testing.T) {
	old := mustParse(t, "info,songs/db=debug")
	r := filter.NewReloadable(old)
	err := r.SetDirectives("info,songs/db=loud")
	if err == nil || r.Current() != subscriber.Filter(old) {
		t.Fatalf("SetDirectives with a bad level: err %v, current %v; want an error and the old filter", err, r.Current())
	}
	d, rc := filtered(t, r)
	d.Tracer("songs/db").Debug(context.Background(), "still debug")
	expectSeen(t, rc.take(), []string{"event songs/db still debug"})
}

func TestReloadLowersTheDispatchLevelFloor(t *testing.T) {
	r := filter.NewReloadable(filter.Level(subscriber.LevelWarn))
	d, rc := filtered(t, r)
	tr := d.Tracer("songs")
	tr.Info(context.Background(), "hidden")
	r.Set(filter.Level(subscriber.LevelDebug))
	tr.Debug(context.Background(), "seen")
	r.Set(filter.Level(subscriber.LevelError))
	tr.Warn(context.Background(), "hidden again")
	expectSeen(t, rc.take(), []string{"event songs seen"})
	if h := r.LevelHint(); h != subscriber.LevelError {
		t.Errorf("LevelHint = %v, want the current filter's ERROR", h)
	}
}

func TestReloadableHotPathDoesNotAllocate(t *testing.T) {
	r := filter.NewReloadable(mustParse(t, "info,songs/db=debug,songs/vendor=off"))
	m := &subscriber.Metadata{Name: "q", Target: "songs/db/pool", Level: subscriber.LevelDebug}
	if n := testing.AllocsPerRun(1000, func() { r.Enabled(m, subscriber.Scope{}) }); n != 0 {
		t.Errorf("Enabled allocates %v times", n)
	}
}

func TestZeroReloadableEnablesEverything(t *testing.T) {
	var r filter.Reloadable
	got := []bool{}
	for _, l := range []subscriber.Level{subscriber.LevelTrace, subscriber.LevelError} {
		got = append(got, r.Enabled(&subscriber.Metadata{Level: l}, subscriber.Scope{}))
	}
	if !slices.Equal(got, []bool{true, true}) || r.LevelHint() != subscriber.LevelTrace {
		t.Error(fmt.Sprint("zero Reloadable: ", got, r.LevelHint()))
	}
}
