package skywalking

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// meterReports splits what the collector received into reports: each starts with the
// item that carries the service.
func meterReports(data []*agentv3.MeterData) [][]*agentv3.MeterData {
	var out [][]*agentv3.MeterData
	for _, md := range data {
		if md.Service != "" || len(out) == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], md)
	}
	return out
}

// meterKey names a meter by name and labels: name{a=x,b=y}.
func meterKey(name string, labels []*agentv3.Label) string {
	var b strings.Builder
	b.WriteString(name + "{")
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name + "=" + l.Value)
	}
	return b.String() + "}"
}

func byKey(report []*agentv3.MeterData) (map[string]float64, map[string][]*agentv3.MeterBucketValue) {
	single := map[string]float64{}
	hist := map[string][]*agentv3.MeterBucketValue{}
	for _, md := range report {
		if sv := md.GetSingleValue(); sv != nil {
			single[meterKey(sv.Name, sv.Labels)] = sv.Value
		}
		if h := md.GetHistogram(); h != nil {
			hist[meterKey(h.Name, h.Labels)] = h.Values
		}
	}
	return single, hist
}

// Through a real gRPC collector: on each period the layer reports the metrics layer's
// series: the user's counter with its value, the span metric's counter, and the user's
// histogram with buckets keyed by their lower bounds (the first from negative
// infinity) and counts that match the observations; service, instance and time on the
// first item of each report; the token on every call.
func TestMeterReportsMatchWhatWasRecorded(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("secret")
	m := metrics.New()
	l, err := New(WithService("songs"), WithInstance("songs-1"), WithCollector(col.Addr()),
		WithAuthentication("secret"), WithMeters(m, 50*time.Millisecond), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), m, l)
	tr := d.Tracer("songs")
	uploads, err := m.NewCounter("uploads_total", metrics.Label{Name: "region", Value: "eu"})
	if err != nil {
		t.Fatal(err)
	}
	size, err := m.NewHistogram("upload_size", []float64{10, 20, 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.NewGaugeFunc("temperature", func() float64 { return 21.5 }); err != nil {
		t.Fatal(err)
	}
	uploads.Add(3)
	for _, v := range []float64{1, 10, 15, 25, 25, 31, 1000} {
		size.Observe(v)
	}
	for range 2 {
		_, sp := tr.Start(context.Background(), "db.query", slog.String("metric_name", "db_event"))
		sp.End()
	}

	var single map[string]float64
	var hist map[string][]*agentv3.MeterBucketValue
	if !waitUntil(5*time.Second, func() bool {
		reports := meterReports(col.Meters())
		if len(reports) == 0 {
			return false
		}
		single, hist = byKey(reports[len(reports)-1])
		return single["db_event_total{result=ok,span_name=db.query}"] == 2
	}) {
		t.Fatalf("no meter report with the span metric; last: %v", single)
	}
	if v := single["uploads_total{region=eu}"]; v != 3 {
		t.Errorf("uploads_total = %v, want 3 (%v)", v, single)
	}
	if v := single["temperature{}"]; v != 21.5 {
		t.Errorf("temperature = %v, want 21.5", v)
	}
	want := []struct {
		bucket float64
		negInf bool
		count  int64
	}{{math.Inf(-1), true, 2}, {10, false, 1}, {20, false, 2}, {30, false, 2}}
	got := hist["upload_size{}"]
	if len(got) != len(want) {
		t.Fatalf("upload_size buckets %v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Bucket != w.bucket || got[i].IsNegativeInfinity != w.negInf || got[i].Count != w.count {
			t.Errorf("bucket %d = %v, want lower bound %v (negative infinity %v) count %d", i, got[i], w.bucket, w.negInf, w.count)
		}
	}
	if _, ok := hist["db_event_duration_seconds{result=ok,span_name=db.query}"]; !ok {
		t.Errorf("no span duration histogram among %v", hist)
	}
	for _, r := range meterReports(col.Meters()) {
		if r[0].Service != "songs" || r[0].ServiceInstance != "songs-1" || r[0].Timestamp == 0 {
			t.Errorf("a report starts with %v, want service, instance and time", r[0])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	sawMeters := false
	for _, c := range col.Calls() {
		if c.Token != "secret" {
			t.Errorf("%s carried %q", c.Method, c.Token)
		}
		sawMeters = sawMeters || c.Method == oaptest.MethodCollectMeters
	}
	if !sawMeters {
		t.Error("no MeterReportService.collect call")
	}
	if st := l.Stats(); st.MeterReports < 2 || st.MeterReportsFailed != 0 {
		t.Errorf("stats %+v, want several reports, none failed", st)
	}
}

// A short-lived program: the period never comes, and Shutdown sends one last report
// with the values recorded up to it.
func TestShutdownSendsTheLastMeterReport(t *testing.T) {
	col := oaptest.Start(t)
	before := runtime.NumGoroutine()
	m := metrics.New()
	l, err := New(WithService("svc"), WithCollector(col.Addr()), WithMeters(m, time.Hour), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(m, l)
	c, err := m.NewCounter("jobs_total")
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		c.Inc()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	reports := meterReports(col.Meters())
	if len(reports) != 1 {
		t.Fatalf("%d meter reports, want the one Shutdown sends", len(reports))
	}
	if single, _ := byKey(reports[0]); single["jobs_total{}"] != 7 {
		t.Errorf("last report %v, want jobs_total 7", single)
	}
	if st := l.Stats(); st.MeterReports != 1 || st.MetersSent != 1 {
		t.Errorf("stats %+v", st)
	}
	if n := goroutinesSettle(before); n > before {
		t.Errorf("%d goroutines after Shutdown, %d before New: the meter loop or a queue is still running", n, before)
	}
}

// With the collector down the meter reports fail, are counted, and block nothing;
// Shutdown's last report gives up by its deadline and says so.
func TestMeterReportsToADeadCollectorAreCounted(t *testing.T) {
	m := metrics.New()
	l, err := New(WithService("svc"), WithCollector("127.0.0.1:1"), WithMeters(m, 20*time.Millisecond), WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(m, l)
	c, _ := m.NewCounter("jobs_total")
	c.Inc()
	if !waitUntil(5*time.Second, func() bool { return l.Stats().MeterReportsFailed >= 2 }) {
		t.Fatalf("stats %+v, want failed meter reports counted", l.Stats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "meter report") {
		t.Errorf("Shutdown = %v, want it to say the last meter report failed", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Shutdown took %v past a 500ms deadline", took)
	}
	if l.Stats().MeterReports != 0 {
		t.Errorf("stats %+v: reports counted as sent to a dead collector", l.Stats())
	}
}
