package skywalking_test

import (
	"context"
	"log"
	"time"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// Logs, meters and instance properties go to the same collector as the segments: WARN
// events (and INFO from songs/vendor) as log records, the metrics layer's series as
// meters every 20 seconds and at shutdown, a user property on top of the predefined
// ones.
func Example_logsMetersAndProperties() {
	logs, err := filter.Parse("warn,songs/vendor=info")
	if err != nil {
		log.Fatal(err)
	}
	met := metrics.New()
	sw, err := skywalking.FromEnv(
		skywalking.WithService("songs"),
		skywalking.WithCollector("127.0.0.1:11800"),
		skywalking.WithLogFilter(logs),
		skywalking.WithMeters(met, 0), // every DefaultMeterPeriod
		skywalking.WithLogf(func(string, ...any) {}),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = sw.SetProperty("region", "eu-west-1")
	uploads, err := met.NewCounter("uploads_total")
	if err != nil {
		log.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), met, sw)
	tr := d.Tracer("songs/vendor")

	ctx, span := tr.Start(context.Background(), "upload")
	tr.Info(ctx, "vendor answered") // a log record with this span's trace context
	uploads.Inc()
	span.End()

	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = d.Shutdown(sctx) // the last meter report, then the queues
}
