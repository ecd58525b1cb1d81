package filter_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

// printer is a tiny layer that prints the spans and events that reach it.
type printer struct{}

func (printer) OnNewSpan(s subscriber.SpanRef, _ []slog.Attr) {
	fmt.Printf("span %s: %s\n", s.Metadata().Target, s.Name())
}

func (printer) OnEvent(ev *subscriber.Event) {
	fmt.Printf("%v %s: %s", ev.Meta.Level, ev.Meta.Target, ev.Message)
	if !ev.Span.IsZero() {
		fmt.Printf(" (in %s)", ev.Span.Name())
	}
	fmt.Println()
}

func ExampleParse() {
	f, err := filter.Parse("warn, songs/vendor=off, songs/db=debug")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("directives:", f)

	d := subscriber.MustNew(subscriber.WithFilter(printer{}, f))
	db, vendor, http := d.Tracer("songs/db"), d.Tracer("songs/vendor"), d.Tracer("songs/http")
	ctx := context.Background()

	db.Debug(ctx, "query planned")      // songs/db is at DEBUG
	vendor.Error(ctx, "lastfm timeout") // songs/vendor is off
	http.Info(ctx, "request served")    // the default is WARN
	http.Warn(ctx, "slow request")
	// Output:
	// directives: warn,songs/db=debug,songs/vendor=off
	// DEBUG songs/db: query planned
	// WARN songs/http: slow request
}

func ExampleParse_error() {
	_, err := filter.Parse("info,songs/db=loud")
	fmt.Println(err)
	// Output:
	// filter: directive "songs/db=loud": unknown level "loud" (want trace, debug, info, warn, error or off)
}

func ExampleParse_spans() {
	// Everything at DEBUG inside POST requests; only warnings elsewhere.
	f, _ := filter.Parse("warn,songs[HTTP request{http.method=POST}]=debug")
	d := subscriber.MustNew(subscriber.WithFilter(printer{}, f))
	http, db := d.Tracer("songs/http"), d.Tracer("songs/db")

	for _, method := range []string{"GET", "POST"} {
		ctx, req := http.Start(context.Background(), "HTTP request", slog.String("http.method", method))
		db.Debug(ctx, "query for "+method)
		req.End()
	}
	// Output:
	// span songs/http: HTTP request
	// DEBUG songs/db: query for POST (in HTTP request)
}

func ExampleDynamic() {
	// Drop "Connection" events logged outside any span; keep those inside one.
	noOrphanConnections := filter.Dynamic(func(m *subscriber.Metadata, s subscriber.Scope) bool {
		return !(m.Kind == subscriber.KindEvent && m.Name == "Connection" && s.Parent.IsZero())
	})
	d := subscriber.MustNew(subscriber.WithFilter(printer{}, noOrphanConnections))
	tr := d.Tracer("songs/db")
	ctx := context.Background()

	tr.Info(ctx, "Connection") // dropped: no parent span
	qctx, q := tr.Start(ctx, "db.query")
	tr.Info(qctx, "Connection") // kept
	q.End()
	tr.Info(ctx, "Pool ready") // other events are not affected
	// Output:
	// span songs/db: db.query
	// INFO songs/db: Connection (in db.query)
	// INFO songs/db: Pool ready
}

func ExampleReloadable() {
	initial, _ := filter.Parse("info,songs/db=off")
	r := filter.NewReloadable(initial)
	d := subscriber.MustNew(subscriber.WithFilter(printer{}, r))
	db := d.Tracer("songs/db")
	ctx := context.Background()

	db.Debug(ctx, "not yet")
	// From an admin endpoint, say:
	if err := r.SetDirectives("info,songs/db=debug"); err != nil {
		fmt.Println(err)
	}
	db.Debug(ctx, "now visible")
	// A bad update is refused and the filter stays as it was.
	fmt.Println(r.SetDirectives("info,songs/db=verbose") != nil, r.Current())
	// Output:
	// DEBUG songs/db: now visible
	// true info,songs/db=debug
}
