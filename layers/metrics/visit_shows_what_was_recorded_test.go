package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/metrics"
)

// visited is one series as Visit showed it, copied.
type visited struct {
	kind    metrics.Kind
	value   float64
	labels  string
	buckets []metrics.Bucket
	count   uint64
}

func visitAll(m *metrics.Layer) map[string]visited {
	out := map[string]visited{}
	m.Visit(func(s *metrics.Series) {
		var lb []string
		for _, l := range s.Labels {
			lb = append(lb, l.Name+"="+l.Value)
		}
		key := s.Name + "{" + strings.Join(lb, ",") + "}"
		out[key] = visited{kind: s.Kind, value: s.Value, labels: strings.Join(lb, ","), buckets: slices.Clone(s.Buckets), count: s.Count}
	})
	return out
}

func bucketCounts(b []metrics.Bucket) []uint64 {
	out := make([]uint64, len(b))
	for i := range b {
		out[i] = b[i].Count
	}
	return out
}

// Visit shows span metrics (counter and duration histogram), event metrics, registered
// gauges and the application's own counter, gauge function and histogram, with their
// labels unescaped and per-bucket histogram counts that match the observations.
func TestVisitShowsWhatWasRecorded(t *testing.T) {
	m, tr := setup(t, metrics.WithBuckets(0.5, 1000), metrics.WithEventBuckets(1, 10))
	ctx := context.Background()
	for i := range 3 {
		_, sp := tr.Start(ctx, "db.query", slog.String("metric_name", "db_event"), slog.String("metric_label_db", `pg"1`))
		if i == 2 {
			sp.EndErr(errors.New("boom"))
		} else {
			sp.End()
		}
	}
	tr.Info(ctx, "hit", slog.Int("monotonic_counter.cache_hits", 2), slog.String("cache", "songs"))
	tr.Info(ctx, "hit", slog.Int("monotonic_counter.cache_hits", 3), slog.String("cache", "songs"))
	tr.Info(ctx, "q", slog.Int("counter.inflight", 5))
	tr.Info(ctx, "q", slog.Int("counter.inflight", -2))
	for _, v := range []float64{0.5, 1, 7, 10, 11, 99} {
		tr.Info(ctx, "size", slog.Float64("histogram.size", v))
	}
	if err := m.RegisterGauge(`self_queue{backend="oap"}`, func() float64 { return 4 }); err != nil {
		t.Fatal(err)
	}
	c, err := m.NewCounter("uploads_total", metrics.Label{Name: "region", Value: "eu"})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2.5)
	c.Inc()
	c.Add(-7) // ignored
	if err := m.NewGaugeFunc("temperature", func() float64 { return 21.5 }); err != nil {
		t.Fatal(err)
	}
	h, err := m.NewHistogram("upload_size", []float64{10, 20, 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{1, 10, 15, 25, 25, 31, 1000} {
		h.Observe(v)
	}

	got := visitAll(m)
	check := func(key string, kind metrics.Kind, value float64) {
		t.Helper()
		s, ok := got[key]
		if !ok {
			t.Errorf("no series %s in %v", key, got)
			return
		}
		if s.kind != kind || s.value != value {
			t.Errorf("%s: %v %v, want %v %v", key, s.kind, s.value, kind, value)
		}
	}
	check(`db_event_total{db=pg"1,result=ok,span_name=db.query}`, metrics.KindCounter, 2)
	check(`db_event_total{db=pg"1,result=error,span_name=db.query}`, metrics.KindCounter, 1)
	check(`cache_hits_total{cache=songs}`, metrics.KindCounter, 5)
	check(`inflight{}`, metrics.KindGauge, 3)
	check(`self_queue{backend=oap}`, metrics.KindGauge, 4)
	check(`uploads_total{region=eu}`, metrics.KindCounter, 3.5)
	check(`temperature{}`, metrics.KindGauge, 21.5)

	hist := func(key string, bounds []float64, counts []uint64) {
		t.Helper()
		s, ok := got[key]
		if !ok {
			t.Errorf("no histogram %s", key)
			return
		}
		var ubs []float64
		var total uint64
		for _, b := range s.buckets {
			ubs = append(ubs, b.UpperBound)
			total += b.Count
		}
		if s.kind != metrics.KindHistogram || !slices.Equal(ubs, append(slices.Clone(bounds), math.Inf(1))) ||
			!slices.Equal(bucketCounts(s.buckets), counts) || s.count != total {
			t.Errorf("%s: %v bounds %v counts %v count %d, want bounds %v counts %v", key, s.kind, ubs, bucketCounts(s.buckets), s.count, bounds, counts)
		}
	}
	hist(`upload_size{}`, []float64{10, 20, 30}, []uint64{2, 1, 2, 2})
	hist(`size{}`, []float64{1, 10}, []uint64{2, 2, 2})
	if s := got[`db_event_duration_seconds{db=pg"1,result=ok,span_name=db.query}`]; s.count != 2 || s.buckets[0].Count != 2 {
		t.Errorf("span duration histogram %+v, want 2 observations under 0.5s", s)
	}

	// Later observations show in the next visit.
	h.Observe(5)
	if s := visitAll(m)[`upload_size{}`]; s.buckets[0].Count != 3 || s.count != 8 {
		t.Errorf("after one more observation: %+v", s)
	}
}

// One registration per name and label set; bad names, labels and bounds are errors
// that name the problem; a name another metric exposes is refused.
func TestUserMetricsAreRegisteredOnceAndChecked(t *testing.T) {
	m, _ := setup(t)
	if _, err := m.NewCounter("jobs_total", metrics.Label{Name: "q", Value: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewCounter("jobs_total", metrics.Label{Name: "q", Value: "b"}); err != nil {
		t.Errorf("another label set of the same counter: %v", err)
	}
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"twice", second(m.NewCounter("jobs_total", metrics.Label{Name: "q", Value: "a"})), "already registered"},
		{"bad name", second(m.NewCounter("jobs-total")), "not a valid metric name"},
		{"bad label", second(m.NewCounter("x_total", metrics.Label{Name: "a-b"})), "not a valid label name"},
		{"le", second(m.NewCounter("x_total", metrics.Label{Name: "le"})), "reserved"},
		{"dup label", second(m.NewCounter("x_total", metrics.Label{Name: "a"}, metrics.Label{Name: "a"})), "twice"},
		{"other kind", m.NewGaugeFunc("jobs_total", func() float64 { return 0 }), "already exposed"},
		{"histogram names", second(m.NewHistogram("jobs", []float64{1})), ""},
		{"taken by histogram", second(m.NewCounter("jobs_bucket")), "already exposed"},
		{"bad bounds", second(m.NewHistogram("h2", []float64{2, 1})), "increasing"},
		{"no bounds", second(m.NewHistogram("h3", nil)), "no bucket bounds"},
		{"nil gauge", m.NewGaugeFunc("g", nil), "nil function"},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: %v", tc.what, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.what, tc.err, tc.want)
		}
	}
	s := scrape(t, m)
	if _, ok := s[`jobs_total{q="a"}`]; !ok {
		t.Errorf("the counter is not on /metrics: %v", s)
	}
}

func second[T any](_ T, err error) error { return err }

// Visit allocates nothing in steady state for counters and gauges.
func TestVisitOfCountersAllocatesNothing(t *testing.T) {
	m, tr := setup(t)
	tr.Info(context.Background(), "hit", slog.Int("monotonic_counter.hits", 1))
	c, _ := m.NewCounter("c_total")
	c.Inc()
	var sum float64
	fn := func(s *metrics.Series) { sum += s.Value }
	m.Visit(fn)
	if n := testing.AllocsPerRun(100, func() { m.Visit(fn) }); n != 0 {
		t.Errorf("Visit allocates %v times", n)
	}
}
