package subscriber_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/strata-go/strata/subscriber"
)

// printer is a minimal layer: it prints span starts, ends and events, indented by depth.
type printer struct{}

func depth(s subscriber.SpanRef) int {
	n := 0
	for p := s.Parent(); !p.IsZero(); p = p.Parent() {
		n++
	}
	return n
}

func (printer) OnNewSpan(s subscriber.SpanRef, fields []slog.Attr) {
	fmt.Printf("%sstart %s %v\n", strings.Repeat("  ", depth(s)), s.Name(), fields)
}

func (printer) OnEvent(ev *subscriber.Event) {
	fmt.Printf("%s%s %s %v\n", strings.Repeat("  ", depth(ev.Span)+1), ev.Level(), ev.Message, ev.Attrs)
}

func (printer) OnClose(s subscriber.SpanRef) {
	status := "ok"
	if s.Failed() {
		status = "failed: " + s.Err().Error()
	}
	fmt.Printf("%send %s (%s)\n", strings.Repeat("  ", depth(s)), s.Name(), status)
}

func Example() {
	d := subscriber.MustNew(printer{})
	defer d.Shutdown(context.Background())
	tr := d.Tracer("songs/http")

	ctx, req := tr.Start(context.Background(), "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"))
	ctx2, q := tr.Start(ctx, "db.insert", slog.Group("db", slog.String("system", "postgresql")))
	tr.Info(ctx2, "inserted", slog.Int("id", 42))
	q.End()
	req.EndErr(errors.New("vendor timeout"))
	// Output:
	// start HTTP request [http.method=POST http.route=/songs]
	//   start db.insert [db.system=postgresql]
	//     INFO inserted [id=42]
	//   end db.insert (ok)
	// end HTTP request (failed: vendor timeout)
}

func ExampleWithFilter() {
	onlyWarnings := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool {
		return m.Level >= subscriber.LevelWarn
	})
	d := subscriber.MustNew(subscriber.WithFilter(printer{}, onlyWarnings))
	tr := d.Tracer("songs")
	ctx, span := tr.Start(context.Background(), "request") // INFO: filtered out
	tr.Info(ctx, "routine")
	tr.Warn(ctx, "slow vendor", slog.Duration("took", 1500e6))
	span.End()
	// Output:
	//   WARN slow vendor [took=1.5s]
}

func ExampleTracer_Do() {
	d := subscriber.MustNew(printer{})
	tr := d.Tracer("songs/vendor")
	err := tr.Do(context.Background(), "vendor.lastfm", func(ctx context.Context) error {
		tr.Info(ctx, "calling")
		return errors.New("503 from upstream")
	}, slog.String("subject", "vendor.lastfm"))
	fmt.Println("returned:", err)
	// Output:
	// start vendor.lastfm [subject=vendor.lastfm]
	//   INFO calling []
	// end vendor.lastfm (failed: 503 from upstream)
	// returned: 503 from upstream
}

func ExampleTracer_Go() {
	d := subscriber.MustNew(printer{})
	tr := d.Tracer("songs")
	ctx, req := tr.Start(context.Background(), "HTTP request")
	responded := make(chan struct{})
	task := tr.Go(ctx, "async.enrich", func(ctx context.Context) error {
		<-responded // outlives the request: same trace, no parent, ctx not cancelled with it
		return nil
	})
	req.End()
	close(responded)
	_ = task.Wait()
	// Output:
	// start HTTP request []
	// start async.enrich []
	// end HTTP request (ok)
	// end async.enrich (ok)
}

func ExampleDispatch_SlogHandler() {
	d := subscriber.MustNew(printer{})
	log := slog.New(d.SlogHandler("songs")).With("service", "songs")
	ctx, span := d.Tracer("songs").Start(context.Background(), "request")
	log.InfoContext(ctx, "cache miss", slog.Group("cache", "key", "song:1"))
	span.End()
	// Output:
	// start request []
	//   INFO cache miss [service=songs cache.key=song:1]
	// end request (ok)
}

func ExampleTraceID() {
	d := subscriber.MustNew(printer{})
	ctx, span := d.Tracer("songs").Start(context.Background(), "request")
	defer span.End()
	// Correlate anything (a response header, another logger) with the trace.
	fmt.Println(len(subscriber.TraceID(ctx).String()), subscriber.SpanID(ctx) != 0)
	// Output:
	// start request []
	// 32 true
	// end request (ok)
}
