package filter_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

func TestTargetPredicateMatchesAtSlashBoundaries(t *testing.T) {
	d, r := filtered(t, filter.Target("songs"))
	for _, target := range []string{"songs", "songs/db", "songsx", "other/songs"} {
		d.Tracer(target).Info(context.Background(), "hi")
	}
	expectSeen(t, r.take(), []string{"event songs hi", "event songs/db hi"})
}

func TestLevelEnablesThatLevelAndAbove(t *testing.T) {
	d, r := filtered(t, filter.Level(subscriber.LevelWarn))
	logAll(context.Background(), d, "x")
	expectSeen(t, r.take(), []string{"event x w", "event x e"})
}

func TestSpanNameEnablesOnlySpansOfThoseNames(t *testing.T) {
	d, r := filtered(t, filter.SpanName("db.query", "db.exec"))
	tr := d.Tracer("songs/db")
	ctx, q := tr.Start(context.Background(), "db.query")
	tr.Info(ctx, "db.query") // an event with the same text is not a span
	_, o := tr.Start(ctx, "other")
	o.End()
	q.End()
	expectSeen(t, r.take(), []string{"span songs/db db.query"})
}

func TestFieldSeesOwnFieldsNotInheritedOnes(t *testing.T) {
	slow := filter.Field("elapsed_ms", func(v slog.Value) bool { return v.Kind() == slog.KindInt64 && v.Int64() > 100 })
	d, r := filtered(t, slow)
	tr := d.Tracer("songs")
	bg := context.Background()
	ctx, s := tr.Start(bg, "slow span", slog.Int("elapsed_ms", 500))
	tr.Info(ctx, "inside, without the field")
	tr.Info(bg, "slow event", slog.Int("elapsed_ms", 101))
	tr.Info(bg, "fast event", slog.Int("elapsed_ms", 3))
	s.End()
	expectSeen(t, r.take(), []string{"span songs slow span", "event songs slow event"})

	d2, r2 := filtered(t, filter.Field("user.id", nil))
	d2.Tracer("a").Info(bg, "with", slog.String("user.id", "x"))
	d2.Tracer("a").Info(bg, "without")
	expectSeen(t, r2.take(), []string{"event a with"})
}

func TestInSpanEnablesWhatIsInsideButNotTheSpan(t *testing.T) {
	// A span exists only if some layer wants it: the unfiltered layer wants them all.
	r := &rec{}
	d, err := subscriber.New(subscriber.WithFilter(r, filter.InSpan("HTTP request")), &rec{})
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Tracer("songs")
	bg := context.Background()
	tr.Info(bg, "outside")
	ctx, req := tr.Start(bg, "HTTP request")
	tr.Info(ctx, "inside")
	cctx, child := tr.Start(ctx, "child")
	tr.Info(cctx, "deeper")
	child.End()
	req.End()
	expectSeen(t, r.take(), []string{"event songs inside", "span songs child", "event songs deeper"})
}

func TestAndOrNotCombine(t *testing.T) {
	bg := context.Background()
	// DEBUG from songs/db, plus everything at ERROR, but never the vendor target.
	f := filter.And(
		filter.Or(filter.And(filter.Target("songs/db"), filter.Level(subscriber.LevelDebug)), filter.Level(subscriber.LevelError)),
		filter.Not(filter.Target("songs/vendor")),
	)
	d, r := filtered(t, f)
	logAll(bg, d, "songs/db", "songs/http", "songs/vendor")
	expectSeen(t, r.take(), []string{
		"event songs/db d", "event songs/db i", "event songs/db w", "event songs/db e",
		"event songs/http e",
	})
}

func TestFuncSeesMetadata(t *testing.T) {
	noSpansFromDB := filter.Func(func(m *subscriber.Metadata) bool {
		return !(m.Kind == subscriber.KindSpan && m.Target == "songs/db")
	})
	d, r := filtered(t, noSpansFromDB)
	tr := d.Tracer("songs/db")
	ctx, s := tr.Start(context.Background(), "db.query")
	tr.Info(ctx, "event")
	s.End()
	expectSeen(t, r.take(), []string{"event songs/db event"})
}

func TestNilFiltersAndFunctionsEnableEverything(t *testing.T) {
	m := &subscriber.Metadata{Level: subscriber.LevelTrace}
	for name, f := range map[string]subscriber.Filter{
		"Func(nil)": filter.Func(nil), "Dynamic(nil)": filter.Dynamic(nil),
		"And(nil)": filter.And(nil), "Or(nil)": filter.Or(nil), "NewReloadable(nil)": filter.NewReloadable(nil),
	} {
		if !f.Enabled(m, subscriber.Scope{}) {
			t.Errorf("%s rejects a TRACE event", name)
		}
	}
	if filter.Not(nil).Enabled(m, subscriber.Scope{}) {
		t.Error("Not(nil) enables a TRACE event")
	}
}

func TestSpanDirectiveMatchesASpanOnlyAnotherLayerEnabled(t *testing.T) {
	// The probe layer has no filter, so a DEBUG span exists even though the directives
	// would not enable it; what is inside still matches the span directive.
	r := &rec{}
	all := &rec{}
	d, err := subscriber.New(subscriber.WithFilter(r, mustParse(t, "off,[task]=info")), all)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Tracer("x")
	ctx, s := tr.StartLevel(context.Background(), subscriber.LevelDebug, "task")
	tr.Info(ctx, "inside")
	s.End()
	expectSeen(t, r.take(), []string{"event x inside"})
}
