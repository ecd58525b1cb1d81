package filter_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

func TestSpanNameDirectiveEnablesTheSpanAndEverythingInsideIt(t *testing.T) {
	d, r := filtered(t, mustParse(t, "warn,[vendor.lastfm.task]=debug"))
	http, vendor, db := d.Tracer("songs/http"), d.Tracer("songs/vendor"), d.Tracer("songs/db")

	ctx, req := http.Start(context.Background(), "HTTP request")
	http.Info(ctx, "outside the task")
	tctx, task := vendor.Start(ctx, "vendor.lastfm.task")
	vendor.Debug(tctx, "in the task")
	gctx, query := db.Start(tctx, "db.query")
	db.Debug(gctx, "in a child of the task")
	db.Trace(gctx, "too verbose for the directive")
	query.End()
	task.End()
	http.Debug(ctx, "after the task")
	req.End()

	expectSeen(t, r.take(), []string{
		"span songs/vendor vendor.lastfm.task",
		"event songs/vendor in the task",
		"span songs/db db.query",
		"event songs/db in a child of the task",
	})
}

func TestSpanFieldDirectiveMatchesTargetNameAndFieldValue(t *testing.T) {
	d, r := filtered(t, mustParse(t, "warn,songs[HTTP request{http.method=POST}]=debug"))
	http, db, other := d.Tracer("songs/http"), d.Tracer("songs/db"), d.Tracer("other")
	bg := context.Background()

	for _, c := range []struct {
		tr     *subscriber.Tracer
		method string
	}{{http, "POST"}, {http, "GET"}, {other, "POST"}} {
		ctx, req := c.tr.Start(bg, "HTTP request", slog.String("http.method", c.method))
		qctx, q := db.Start(ctx, "db.query")
		db.Debug(qctx, "query "+c.method+" from "+c.tr.Target())
		q.End()
		req.End()
	}
	expectSeen(t, r.take(), []string{
		"span songs/http HTTP request",
		"span songs/db db.query",
		"event songs/db query POST from songs/http",
	})
}

func TestEmptySpanNameMatchesAnySpanWithTheField(t *testing.T) {
	d, r := filtered(t, mustParse(t, "error,[{user.id=42}]=trace,[{flag=true}]=trace"))
	tr := d.Tracer("songs")
	bg := context.Background()
	for _, f := range []slog.Attr{slog.Int("user.id", 42), slog.Int("user.id", 43), slog.String("user.id", "42"),
		slog.Bool("flag", true), slog.Bool("flag", false), slog.Uint64("user.id", 42), slog.Float64("user.id", 42)} {
		ctx, s := tr.Start(bg, "any "+f.String(), f)
		tr.Trace(ctx, "in "+f.String())
		s.End()
	}
	expectSeen(t, r.take(), []string{
		// slog.Value.String of each of these is "42" or "true", whatever the kind.
		"span songs any user.id=42", "event songs in user.id=42",
		"span songs any user.id=42", "event songs in user.id=42",
		"span songs any user.id=42", "event songs in user.id=42",
		"span songs any user.id=42", "event songs in user.id=42",
		"span songs any flag=true", "event songs in flag=true",
	})
}

func TestFieldRecordedAfterStartMatchesEventsFromThenOn(t *testing.T) {
	d, r := filtered(t, mustParse(t, "info,[job{state=failed}]=debug"))
	tr := d.Tracer("jobs")
	ctx, job := tr.Start(context.Background(), "job")
	tr.Debug(ctx, "before")
	job.Record(slog.String("state", "failed"))
	tr.Debug(ctx, "after")
	job.End()
	expectSeen(t, r.take(), []string{"span jobs job", "event jobs after"})
}

func TestSpanDirectiveMatchesDeepAncestors(t *testing.T) {
	d, r := filtered(t, mustParse(t, "off,[root{tenant=\"acme, inc\"}]=info"))
	tr := d.Tracer("x")
	ctx, root := tr.Start(context.Background(), "root", slog.String("tenant", "acme, inc"))
	var ends []subscriber.Span
	for range 5 {
		var s subscriber.Span
		ctx, s = tr.Start(ctx, "level")
		ends = append(ends, s)
	}
	tr.Info(ctx, "deep")
	tr.Debug(ctx, "deep but too verbose")
	for i := len(ends) - 1; i >= 0; i-- {
		ends[i].End()
	}
	root.End()
	want := []string{"span x root", "event x deep"}
	for range 5 {
		want = append(want, "span x level")
	}
	expectSeen(t, r.take(), want)
}
