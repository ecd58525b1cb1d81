package datadog_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// A service composes the layer after storage; its outgoing calls carry Datadog's
// headers, with the upper half of the 128-bit trace id in x-datadog-tags.
func Example() {
	dd, err := datadog.New(
		datadog.WithAgentURL("http://127.0.0.1:8126"), // connected when the first batch goes
		datadog.WithService("songs"),
		datadog.WithEnv("prod"),
		datadog.WithLogf(func(string, ...any) {}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := subscriber.MustNew(storage.New(), dd)
	tr := d.Tracer("songs")

	// A request continuing a trace from a Datadog-instrumented caller.
	ctx := d.Extract(context.Background(), subscriber.MapCarrier{
		"x-datadog-trace-id":          "1311768467463790320",
		"x-datadog-parent-id":         "42",
		"x-datadog-sampling-priority": "2",
		"x-datadog-tags":              "_dd.p.tid=640cfd8d00000000",
	})
	ctx, req := tr.Start(ctx, "GET /songs", slog.String("otel.kind", "server"))
	cctx, call := tr.Start(ctx, "GET api.last.fm", slog.String("otel.kind", "client"))
	headers := subscriber.MapCarrier{}
	d.Inject(cctx, headers)
	fmt.Println(req.TraceID())
	fmt.Println(headers["x-datadog-trace-id"], headers["x-datadog-sampling-priority"], headers["x-datadog-tags"])
	call.End()
	req.End()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d.Shutdown(ctx) // no Agent listens here: the spans are reported lost
	// Output:
	// 640cfd8d00000000123456789abcdef0
	// 1311768467463790320 2 _dd.p.tid=640cfd8d00000000
}
