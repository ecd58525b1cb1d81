package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
	"github.com/strata-go/strata/subscriber/expect"
)

func TestNestedSpansSeeEveryHookInLifecycleOrder(t *testing.T) {
	m := expect.New(t).
		NewSpan("request", expect.InSpan(""), expect.Field("http.method", "POST")).
		Enter("request").
		NewSpan("db.query", expect.InSpan("request")).
		Enter("db.query").
		Record("db.query", expect.Field("rows", "3")).
		Event("query done", expect.InSpan("db.query"), expect.AtLevel(subscriber.LevelDebug)).
		Exit("db.query").
		Close("db.query", expect.Failed(false)).
		Event("responding", expect.InSpan("request"), expect.Field("status", "201")).
		Record("request", expect.Field("error", "boom")).
		Exit("request").
		Close("request", expect.Failed(true)).
		Only()
	d := subscriber.MustNew(m)
	tr := d.Tracer("test")

	ctx, req := tr.Start(context.Background(), "request", slog.String("http.method", "POST"))
	qctx, q := tr.Start(ctx, "db.query")
	q.Record(slog.Int("rows", 3))
	tr.Debug(qctx, "query done")
	q.End()
	tr.Info(ctx, "responding", slog.Int("status", 201))
	req.EndErr(errString("boom"))

	m.AssertFinished()
}

type errString string

func (e errString) Error() string { return string(e) }
