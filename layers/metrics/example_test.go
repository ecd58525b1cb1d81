package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func Example() {
	m := metrics.New()
	d := subscriber.MustNew(storage.New(), m)
	tr := d.Tracer("songs/db")

	insert := func(ctx context.Context, fail bool) {
		_, span := tr.Start(ctx, "db.insert",
			slog.String("metric_name", "db_event"),
			slog.String("metric_label_db", "postgres"))
		if fail {
			span.EndErr(errors.New("duplicate key"))
			return
		}
		span.End()
	}
	insert(context.Background(), false)
	insert(context.Background(), false)
	insert(context.Background(), true)

	// Serve m.Handler() on /metrics; here, print the counters.
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	for line := range strings.Lines(buf.String()) {
		if strings.HasPrefix(line, "db_event_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// db_event_total{db="postgres",result="error",span_name="db.insert"} 1
	// db_event_total{db="postgres",result="ok",span_name="db.insert"} 2
}

func ExampleLayer_Visit() {
	m := metrics.New()
	uploads, _ := m.NewCounter("uploads_total", metrics.Label{Name: "region", Value: "eu"})
	size, _ := m.NewHistogram("upload_size_bytes", []float64{1000, 10000})
	uploads.Inc()
	size.Observe(500)
	size.Observe(5000)
	size.Observe(50000)

	m.Visit(func(s *metrics.Series) {
		switch s.Kind {
		case metrics.KindHistogram:
			fmt.Print(s.Name, ":")
			for _, b := range s.Buckets {
				fmt.Printf(" le %v: %d", b.UpperBound, b.Count)
			}
			fmt.Println()
		default:
			fmt.Println(s.Name, s.Labels, s.Kind, s.Value)
		}
	})
	// Output:
	// uploads_total [{region eu}] counter 1
	// upload_size_bytes: le 1000: 1 le 10000: 1 le +Inf: 1
}
