package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/strata-go/strata/layers/metrics"
)

func TestHandlerServesDerivedAndPublishedMetrics(t *testing.T) {
	other := vm.NewSet()
	other.NewCounter("strata_skywalking_dropped_segments_total").Add(4)
	m, tr := setup(t, metrics.WithSets(other))
	if err := m.RegisterGauge(`strata_queue_length{queue="segments"}`, func() float64 { return 12 }); err != nil {
		t.Fatal(err)
	}
	_, span := tr.Start(context.Background(), "op", slog.String("metric_name", "job"))
	span.End()

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, want := range []string{
		`job_total{result="ok",span_name="op"} 1` + "\n",
		`strata_queue_length{queue="segments"} 12` + "\n",
		"strata_skywalking_dropped_segments_total 4\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}

	resp, err = http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status = %d, want 405", resp.StatusCode)
	}
}

func TestRegisterGaugeRejectsInvalidAndDuplicateNamesWithoutPanicking(t *testing.T) {
	m := metrics.New()
	if err := m.RegisterGauge("ok_gauge", func() float64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ok_gauge", "bad name", `x{a="b`, ""} {
		if err := m.RegisterGauge(name, func() float64 { return 1 }); err == nil {
			t.Errorf("RegisterGauge(%q) accepted", name)
		}
	}
	if err := m.RegisterGauge("nil_fn", nil); err == nil {
		t.Error("RegisterGauge with a nil function accepted")
	}
}

func TestUsersOwnSetClashIsDroppedNotPanicking(t *testing.T) {
	set := vm.NewSet()
	set.NewGauge(`job_total{result="ok",span_name="op"}`, func() float64 { return 0 })
	m, tr := setup(t, metrics.WithSet(set))
	_, span := tr.Start(context.Background(), "op", slog.String("metric_name", "job"))
	span.End()
	if m.Set() != set {
		t.Fatal("Set() is not the set given with WithSet")
	}
	got := scrape(t, m)
	if got[`strata_metrics_dropped_series_total{metric="job"}`] != 1 {
		t.Errorf("clash with the user's gauge not counted: %v", got)
	}
}
