package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/SkyAPM/go2sky"
	vm "github.com/VictoriaMetrics/metrics"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The rows of BenchmarkFullStack do the same work for a request: the same three spans
// with the same tags (attributes for the SDK), the event as a log of the db span (for the
// SkyWalking peers), an event line carrying the event's fields and the ids of its span,
// and one update of the same metric series. Strata also writes its seven logfmt lines.
func TestFullStackPeersDoTheSameWork(t *testing.T) {
	ctx := context.Background()
	metricLines := []string{"http_request_total" + reqSeriesLabels + " 1",
		"http_request_duration_seconds_count" + reqSeriesLabels + " 1"}
	hasSeries := func(who string, set interface{ WritePrometheus(io.Writer) }) {
		var b bytes.Buffer
		set.WritePrometheus(&b)
		for _, series := range metricLines {
			if !strings.Contains(b.String(), series+"\n") {
				t.Errorf("%s's metrics lack %s:\n%s", who, series, b.String())
			}
		}
	}

	// Strata: the segment its exporter is given, its lines, its metric.
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprint("strata async=", async), func(t *testing.T) {
			var keep segmentKeeper
			var lines bytes.Buffer
			s := newFullStack(t, &lines, async, keep.export)
			strataRequest(ctx, s.tr)
			snapshotSW(s.sw).flush(t)
			if async {
				snapshotAsync(s.async).flush(t)
			}
			if n := len(logfmtLines(t, lines.String())); n != 7 {
				t.Errorf("strata wrote %d lines, want 7:\n%s", n, lines.String())
			}
			hasSeries("strata", s.met)
			keep.mu.Lock()
			defer keep.mu.Unlock()
			if len(keep.segs) != 1 {
				t.Fatalf("strata exported %d segments for one request, want 1", len(keep.segs))
			}
			got := map[string]exportedSpan{}
			for _, sp := range keep.segs[0].GetSpans() {
				e := exportedSpan{tags: map[string]string{}}
				for _, kv := range sp.GetTags() {
					e.tags[kv.GetKey()] = kv.GetValue()
				}
				for _, lg := range sp.GetLogs() {
					m := map[string]string{}
					for _, kv := range lg.GetData() {
						m[kv.GetKey()] = kv.GetValue()
					}
					e.logs = append(e.logs, m)
				}
				got[sp.GetOperationName()] = e
			}
			sameExported(t, got, go2skyFullStackSpans(t))
		})
	}

	t.Run("go2sky_zerolog", func(t *testing.T) {
		tr, rep := newGosky(t)
		var reported []go2sky.ReportedSpan
		rep.keep = func(spans []go2sky.ReportedSpan) { reported = append(reported, spans...) }
		var lb bytes.Buffer
		set := vm.NewSet()
		go2skyRequest(t, ctx, tr, newReqMetric(set), go2skyZerologEvent(zerologJSON(&lb)))
		rep.wait(t, 1)
		hasSeries("go2sky_zerolog", set)
		var db go2sky.ReportedSpan
		for _, sp := range reported {
			if sp.OperationName() == "db.insert" {
				db = sp
			}
		}
		if db == nil {
			t.Fatal("go2sky reported no db.insert span")
		}
		eventLine(t, lb.Bytes(), map[string]string{
			"trace_id": db.Context().TraceID, "segment_id": db.Context().SegmentID,
			"span_id": fmt.Sprint(db.Context().SpanID), "message": reqMsg,
		})
	})

	t.Run("otel_zap", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		defer tp.Shutdown(ctx)
		var lb bytes.Buffer
		set := vm.NewSet()
		otelRequest(ctx, tp.Tracer(readmeTarget), newReqMetric(set), zapEvent(zapJSON(&lb)))
		hasSeries("otel_zap", set)
		want := go2skyFullStackSpans(t)
		spans := exp.GetSpans()
		var db tracetest.SpanStub
		got := map[string]bool{}
		for _, sp := range spans {
			got[sp.Name] = true
			attrs := map[string]string{}
			for _, a := range sp.Attributes {
				if !strings.HasPrefix(string(a.Key), "metric_") { // Strata does not export them as tags
					attrs[string(a.Key)] = a.Value.Emit()
				}
			}
			if !maps.Equal(attrs, want[sp.Name].tags) {
				t.Errorf("span %q: attributes %v, the others' tags %v", sp.Name, attrs, want[sp.Name].tags)
			}
			if sp.Name == "db.insert" {
				db = sp
			}
		}
		if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("the SDK recorded spans %v, the others %v", names, slices.Sorted(maps.Keys(want)))
		}
		eventLine(t, lb.Bytes(), map[string]string{
			"trace_id": db.SpanContext.TraceID().String(), "span_id": db.SpanContext.SpanID().String(),
			"msg": reqMsg,
		})
	})
}

// go2skyFullStackSpans runs the go2sky_zerolog row's request once and returns what go2sky
// exports of each span, by name.
func go2skyFullStackSpans(t *testing.T) map[string]exportedSpan {
	t.Helper()
	tr, rep := newGosky(t)
	var reported []go2sky.ReportedSpan
	rep.keep = func(spans []go2sky.ReportedSpan) { reported = append(reported, spans...) }
	go2skyRequest(t, context.Background(), tr, newReqMetric(vm.NewSet()), go2skyZerologEvent(zerologJSON(io.Discard)))
	rep.wait(t, 1)
	out := map[string]exportedSpan{}
	for _, sp := range reported {
		e := exportedSpan{tags: map[string]string{}}
		for _, kv := range sp.Tags() {
			e.tags[kv.GetKey()] = kv.GetValue()
		}
		for _, lg := range sp.Logs() {
			m := map[string]string{}
			for _, kv := range lg.GetData() {
				m[kv.GetKey()] = kv.GetValue()
			}
			e.logs = append(e.logs, m)
		}
		out[sp.OperationName()] = e
	}
	if len(out) != 3 {
		t.Fatalf("go2sky exported %d spans, want 3", len(out))
	}
	return out
}

// sameExported compares Strata's exported spans with go2sky's: names, tags, span logs.
func sameExported(t *testing.T, strata, peer map[string]exportedSpan) {
	t.Helper()
	names := slices.Sorted(maps.Keys(strata))
	if got := slices.Sorted(maps.Keys(peer)); !slices.Equal(names, got) {
		t.Fatalf("strata exports spans %v, go2sky %v", names, got)
	}
	for _, name := range names {
		s, g := strata[name], peer[name]
		if !maps.Equal(s.tags, g.tags) {
			t.Errorf("span %q: strata tags %v, go2sky %v", name, s.tags, g.tags)
		}
		if len(s.logs) != len(g.logs) {
			t.Errorf("span %q: strata %d logs, go2sky %d", name, len(s.logs), len(g.logs))
			continue
		}
		for i := range s.logs {
			if !maps.Equal(s.logs[i], g.logs[i]) {
				t.Errorf("span %q log %d: strata %v, go2sky %v", name, i, s.logs[i], g.logs[i])
			}
		}
	}
}

// eventLine checks that the JSON line in b is the request's event, with the event's 3
// fields and the given keys (the ids of its span, the message).
func eventLine(t *testing.T, b []byte, want map[string]string) {
	t.Helper()
	var line map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&line); err != nil {
		t.Fatalf("event line %q: %v", b, err)
	}
	want = maps.Clone(want)
	want["song.id"], want["song.title"], want["rows"] = "42", reqTitle, "1"
	for k, v := range want {
		if got := fmt.Sprint(line[k]); got != v {
			t.Errorf("event line: %s=%q, want %q: %v", k, got, v, line)
		}
	}
	if _, ok := line["caller"]; !ok {
		t.Errorf("event line has no caller: %v", line)
	}
	if dec.More() {
		t.Errorf("more than one line: %q", b)
	}
}
