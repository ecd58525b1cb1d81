package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// scrapeAndParse serves the layer with httptest on 127.0.0.1, GETs /metrics and parses
// the body with the Prometheus text parser (legacy, strict name validation).
func scrapeAndParse(t *testing.T, m *metrics.Layer) map[string]*dto.MetricFamily {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("test server on %s, want 127.0.0.1", u.Host)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return fams
}

// exposeTypes turns on VictoriaMetrics' TYPE lines for the test, so that the parser
// groups _bucket, _sum and _count into histogram families.
func exposeTypes(t *testing.T) {
	vm.ExposeMetadata(true)
	t.Cleanup(func() { vm.ExposeMetadata(false) })
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

func key(labels map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String()
}

func TestMetricsExpositionParsesAndMatchesTheCalls(t *testing.T) {
	exposeTypes(t)
	m := metrics.New(metrics.WithProcessMetrics())
	tr := subscriber.MustNew(storage.New(), m).Tracer("songs/vendor")

	// fetch is an instrumented call: a vendor lookup that fails for some ids, and logs an
	// error event (without failing) for others.
	fetch := func(ctx context.Context, id int, source string) error {
		return tr.Do(ctx, "vendor.fetch", func(ctx context.Context) error {
			time.Sleep(200 * time.Microsecond)
			switch {
			case id%5 == 0:
				return errors.New("vendor: 503")
			case id%7 == 0:
				tr.Error(ctx, "retrying", slog.String("error", "vendor: timeout"))
			}
			return nil
		}, slog.String("metric_name", "vendor_fetch"), slog.String("metric_label_source", source))
	}

	want := map[string]float64{}
	var maxDur time.Duration
	for id := 1; id <= 60; id++ {
		source := []string{"lastfm", "spotify"}[id%2]
		start := time.Now()
		_ = fetch(context.Background(), id, source)
		maxDur = max(maxDur, time.Since(start))
		result := "ok"
		if id%5 == 0 || id%7 == 0 {
			result = "error"
		}
		want[key(map[string]string{"span_name": "vendor.fetch", "result": result, "source": source})]++
	}

	fams := scrapeAndParse(t, m)

	total := fams["vendor_fetch_total"]
	if total == nil || total.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("vendor_fetch_total: %v, want a counter family", total)
	}
	hist := fams["vendor_fetch_duration_seconds"]
	if hist == nil || hist.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("vendor_fetch_duration_seconds: %v, want a histogram family", hist)
	}
	counts := map[string]float64{}
	for _, mt := range total.GetMetric() {
		l := labelsOf(mt)
		if len(l) != 3 || l["span_name"] == "" || l["result"] == "" || l["source"] == "" {
			t.Errorf("counter labels = %v, want exactly span_name, result and source", l)
		}
		counts[key(l)] = mt.GetCounter().GetValue()
	}
	if !maps.Equal(counts, want) {
		t.Errorf("counts by label set:\n got %v\nwant %v", counts, want)
	}
	if len(hist.GetMetric()) != len(want) {
		t.Errorf("%d histogram label sets, want %d", len(hist.GetMetric()), len(want))
	}
	for _, mt := range hist.GetMetric() {
		l := labelsOf(mt)
		h := mt.GetHistogram()
		n := counts[key(l)]
		if float64(h.GetSampleCount()) != n {
			t.Errorf("%v: histogram _count %d, counter %v", l, h.GetSampleCount(), n)
		}
		if sum := h.GetSampleSum(); sum <= 0 || sum > n*maxDur.Seconds() {
			t.Errorf("%v: _sum %v, want in (0, %v×%v]", l, sum, n, maxDur.Seconds())
		}
		prev := uint64(0)
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > h.GetSampleCount() {
				t.Errorf("%v: bucket le=%v count %d not cumulative", l, b.GetUpperBound(), b.GetCumulativeCount())
			}
			prev = b.GetCumulativeCount()
		}
		bs := h.GetBucket()
		if len(bs) != len(metrics.DefaultBuckets)+1 {
			t.Fatalf("%v: %d buckets, want the %d defaults and +Inf", l, len(bs), len(metrics.DefaultBuckets))
		}
		if last := bs[len(bs)-1]; !math.IsInf(last.GetUpperBound(), 1) || last.GetCumulativeCount() != h.GetSampleCount() {
			t.Errorf("%v: last bucket le=%v holds %d, want +Inf holding _count", l, last.GetUpperBound(), last.GetCumulativeCount())
		}
	}
	if fams["go_goroutines"] == nil {
		t.Error("WithProcessMetrics: no go_goroutines in the exposition")
	}
}

func TestMetricsExpositionWithHostileLabelValuesParses(t *testing.T) {
	exposeTypes(t)
	m := metrics.New()
	tr := subscriber.MustNew(storage.New(), m).Tracer("e2e")
	hostile := []string{
		`quote " inside`,
		"new\nline",
		`back\slash`,
		`trailing backslash\`,
		"invalid \xff\xfe utf-8",
		`{}=,"\"`,
		"",
	}
	for _, v := range hostile {
		_, span := tr.Start(context.Background(), "span\n\"name\"",
			slog.String("metric_name", "hostile metric-name"),
			slog.String("metric_label_value", v),
			slog.String("metric_label_le", "not a bucket"),
			slog.String("metric_label_bad key", "k"))
		span.End()
	}
	tr.Info(context.Background(), "event", slog.Int("monotonic_counter.hostile.events", 1),
		slog.String("who", "x\"y\nz\\"), slog.String("bin", "\xc0"))

	fams := scrapeAndParse(t, m)
	fam := fams["hostile_metric_name_total"]
	if fam == nil {
		t.Fatalf("no hostile_metric_name_total family; families: %v", slices.Sorted(maps.Keys(fams)))
	}
	seen := map[string]bool{}
	for _, mt := range fam.GetMetric() {
		l := labelsOf(mt)
		seen[l["value"]] = true
		if l["span_name"] != "span\n\"name\"" || l["exported_le"] != "not a bucket" || l["bad_key"] != "k" {
			t.Errorf("labels = %q", l)
		}
	}
	for _, v := range hostile {
		if want := strings.ToValidUTF8(v, "\uFFFD"); !seen[want] {
			t.Errorf("value %q: no series with %q", v, want)
		}
	}
	if h := fams["hostile_metric_name_duration_seconds"]; h == nil || len(h.GetMetric()) != len(hostile) {
		t.Errorf("histogram family: %v", h)
	}
	ev := fams["hostile_events_total"]
	if ev == nil || len(ev.GetMetric()) != 1 {
		t.Fatalf("hostile_events_total: %v", ev)
	}
	if l := labelsOf(ev.GetMetric()[0]); l["who"] != "x\"y\nz\\" || l["bin"] != "\uFFFD" {
		t.Errorf("event labels = %q", l)
	}
}
