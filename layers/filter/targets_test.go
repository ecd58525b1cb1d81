package filter_test

import (
	"context"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// logAll logs one event per level from each target.
func logAll(ctx context.Context, d *subscriber.Dispatch, targets ...string) {
	for _, target := range targets {
		tr := d.Tracer(target)
		tr.Trace(ctx, "t")
		tr.Debug(ctx, "d")
		tr.Info(ctx, "i")
		tr.Warn(ctx, "w")
		tr.Error(ctx, "e")
	}
}

func TestLongestTargetPrefixWinsAndOffSilences(t *testing.T) {
	f := mustParse(t, "warn,songs=info,songs/db=debug,songs/db/pool=off,songs/vendor=off")
	d, r := filtered(t, f)
	logAll(context.Background(), d, "songs", "songs/db", "songs/db/pool", "songs/db/poolx", "songs/vendor/lastfm", "songsx", "other")
	expectSeen(t, r.take(), []string{
		"event songs i", "event songs w", "event songs e",
		"event songs/db d", "event songs/db i", "event songs/db w", "event songs/db e",
		// songs/db/poolx is not under songs/db/pool: songs/db applies.
		"event songs/db/poolx d", "event songs/db/poolx i", "event songs/db/poolx w", "event songs/db/poolx e",
		// songsx is not under songs: the default applies.
		"event songsx w", "event songsx e",
		"event other w", "event other e",
	})
}

func TestTargetsNoDirectiveNamesAreOffWithoutADefault(t *testing.T) {
	d, r := filtered(t, mustParse(t, "songs/db=debug"))
	logAll(context.Background(), d, "songs/db", "songs", "other")
	expectSeen(t, r.take(), []string{"event songs/db d", "event songs/db i", "event songs/db w", "event songs/db e"})
}

func TestBareTargetMeansTrace(t *testing.T) {
	d, r := filtered(t, mustParse(t, "error,songs/db"))
	logAll(context.Background(), d, "songs/db", "songs")
	expectSeen(t, r.take(), []string{
		"event songs/db t", "event songs/db d", "event songs/db i", "event songs/db w", "event songs/db e",
		"event songs e",
	})
}

func TestTargetDirectivesApplyToSpans(t *testing.T) {
	d, r := filtered(t, mustParse(t, "info,songs/db=warn"))
	ctx := context.Background()
	_, a := d.Tracer("songs/db").Start(ctx, "db.query") // INFO: below warn
	_, b := d.Tracer("songs/db").StartLevel(ctx, subscriber.LevelWarn, "db.slow")
	_, c := d.Tracer("songs/http").Start(ctx, "HTTP request")
	a.End()
	b.End()
	c.End()
	expectSeen(t, r.take(), []string{"span songs/db db.slow", "span songs/http HTTP request"})
}
