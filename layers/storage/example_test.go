package storage_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// routePrinter is a layer composed after storage: in its OnClose it reads what storage
// kept, including fields the span inherited.
type routePrinter struct{}

func (routePrinter) OnClose(span subscriber.SpanRef) {
	route, _ := storage.Lookup(span, "http.route") // inherited from the request span
	subject, _ := storage.Lookup(span, "subject")  // the span's own field
	fmt.Printf("%s: route=%s subject=%s error=%t\n", span.Name(), route, subject, storage.HasError(span))
}

func ExampleLookup() {
	d := subscriber.MustNew(storage.New(), routePrinter{})
	tr := d.Tracer("songs")

	ctx, req := tr.Start(context.Background(), "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"))
	_, task := tr.Start(ctx, "vendor.lastfm.task", slog.String("subject", "vendor.lastfm"))
	task.End()
	req.End()
	// Output:
	// vendor.lastfm.task: route=/songs subject=vendor.lastfm error=false
	// HTTP request: route=/songs subject=<nil> error=false
}

func ExampleRange() {
	d := subscriber.MustNew(storage.New(), closeHook(func(span subscriber.SpanRef) {
		if span.Name() != "child" {
			return
		}
		storage.Range(span, func(key string, v slog.Value) bool {
			fmt.Printf("%s=%s\n", key, v)
			return true
		})
	}))
	tr := d.Tracer("example")
	ctx, parent := tr.Start(context.Background(), "parent", slog.String("a", "parent"), slog.String("b", "parent"))
	_, child := tr.Start(ctx, "child", slog.String("c", "child"), slog.String("a", "child"))
	child.End()
	parent.End()
	// Output:
	// c=child
	// a=child
	// b=parent
}

// closeHook adapts a function to a layer with only OnClose.
type closeHook func(span subscriber.SpanRef)

func (f closeHook) OnClose(span subscriber.SpanRef) { f(span) }
