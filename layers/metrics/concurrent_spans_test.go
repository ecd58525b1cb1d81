package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
)

func TestConcurrentSpansFromManyGoroutinesGiveExactCounts(t *testing.T) {
	m, tr := setup(t)
	const goroutines, perG = 32, 300
	ops := []string{"select", "insert", "update"}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				_, span := tr.Start(context.Background(), "db.query",
					slog.String("metric_name", "db_event"),
					slog.String("metric_label_op", ops[(g+i)%len(ops)]),
					slog.String("metric_label_db", "pg"))
				if i%4 == 0 {
					span.EndErr(errors.New("boom"))
				} else {
					span.End()
				}
			}
		})
	}
	wg.Wait()

	want := map[string]float64{}
	for g := range goroutines {
		for i := range perG {
			result := "ok"
			if i%4 == 0 {
				result = "error"
			}
			want[`{db="pg",op="`+ops[(g+i)%len(ops)]+`",result="`+result+`",span_name="db.query"}`]++
		}
	}
	got := scrape(t, m)
	total := 0.0
	for labels, n := range want {
		if c := got["db_event_total"+labels]; c != n {
			t.Errorf("db_event_total%s = %v, want %v", labels, c, n)
		}
		if c := got["db_event_duration_seconds_count"+labels]; c != n {
			t.Errorf("db_event_duration_seconds_count%s = %v, want %v", labels, c, n)
		}
		if c := got[`db_event_duration_seconds_bucket`+labels[:len(labels)-1]+`,le="+Inf"}`]; c != n {
			t.Errorf("+Inf bucket of %s = %v, want %v", labels, c, n)
		}
		total += n
	}
	if total != goroutines*perG {
		t.Fatalf("test bug: %v spans expected, %d run", total, goroutines*perG)
	}
	if n := countPrefix(got, "db_event_total{"); n != len(want) {
		t.Errorf("%d db_event_total series, want %d", n, len(want))
	}
}
