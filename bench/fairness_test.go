package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/go-logfmt/logfmt"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The logfmt event benchmark compares like with like only if Strata and zerolog write
// the same fields: the event's 5, the span's 5 inherited ones, a message and a timestamp.
func TestLogfmtEventPeersWriteTheSameFields(t *testing.T) {
	var sb bytes.Buffer
	tr, ctx := strataEventCtx(t, &sb)
	strataEvent(tr, ctx)
	strataKeys := map[string]string{}
	dec := logfmt.NewDecoder(strings.NewReader(sb.String()))
	for dec.ScanRecord() {
		for dec.ScanKeyval() {
			strataKeys[string(dec.Key())] = string(dec.Value())
		}
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("strata line does not decode: %v\n%s", err, sb.String())
	}

	var zb bytes.Buffer
	zl := zerologEventLogger(&zb)
	zerologEvent(&zl)
	zeroKeys := map[string]any{}
	if err := json.Unmarshal(zb.Bytes(), &zeroKeys); err != nil {
		t.Fatalf("zerolog line does not decode: %v", err)
	}

	want := []string{"vendor.status", "vendor", "cache", "bytes", "elapsed_ms",
		"http.method", "http.route", "user_id", "subject", "attempt"}
	for _, k := range want {
		if _, ok := strataKeys[k]; !ok {
			t.Errorf("strata line lacks %q: %s", k, sb.String())
		}
		if _, ok := zeroKeys[k]; !ok {
			t.Errorf("zerolog line lacks %q: %s", k, zb.String())
		}
	}
	if strataKeys["msg"] != lfMsg || zeroKeys["message"] != lfMsg {
		t.Errorf("messages differ: strata %q, zerolog %v", strataKeys["msg"], zeroKeys["message"])
	}
	if strataKeys["timestamp"] == "" || zeroKeys["time"] == nil {
		t.Error("one of the lines has no timestamp")
	}
	// Strata writes more (span, trace_id, target): the comparison is not tilted its way.
	extra := []string{"span", "trace_id", "target"}
	for _, k := range extra {
		if _, ok := strataKeys[k]; !ok {
			t.Errorf("strata line lacks its correlation key %q", k)
		}
	}
	if n := len(strataKeys); n < len(want)+len(extra)+3 || slices.Contains(want, "") {
		t.Errorf("strata line has %d keys, want at least %d", n, len(want)+len(extra)+3)
	}
}

// kv is one key and value of a line, in order.
type kv struct{ k, v string }

// logfmtLines decodes logfmt lines into ordered keys and values.
func logfmtLines(t *testing.T, text string) [][]kv {
	t.Helper()
	var lines [][]kv
	dec := logfmt.NewDecoder(strings.NewReader(text))
	for dec.ScanRecord() {
		var line []kv
		for dec.ScanKeyval() {
			line = append(line, kv{string(dec.Key()), string(dec.Value())})
		}
		lines = append(lines, line)
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("logfmt does not decode: %v\n%s", err, text)
	}
	return lines
}

// jsonLines decodes flat JSON lines into ordered keys and values (numbers and booleans
// as their text), so that duplicate keys are seen.
func jsonLines(t *testing.T, text string) [][]kv {
	t.Helper()
	var lines [][]kv
	for _, raw := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("not a JSON object: %q", raw)
		}
		var line []kv
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("%v in %q", err, raw)
			}
			v, err := dec.Token()
			if err != nil {
				t.Fatalf("%v in %q", err, raw)
			}
			if d, ok := v.(json.Delim); ok {
				t.Fatalf("nested %v in %q: the peer's lines must be flat", d, raw)
			}
			line = append(line, kv{k.(string), fmt.Sprint(v)})
		}
		lines = append(lines, line)
	}
	return lines
}

// asMap returns a line's keys and values, failing on a key written twice.
func asMap(t *testing.T, who string, line []kv) map[string]string {
	t.Helper()
	m := make(map[string]string, len(line))
	for _, p := range line {
		if _, dup := m[p.k]; dup {
			t.Errorf("%s writes key %q twice: %v", who, p.k, line)
		}
		m[p.k] = p.v
	}
	return m
}

var (
	reTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	reTraceID   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reLocation  = regexp.MustCompile(`^bench/[a-z_]+_test\.go:\d+$`)
	reDecimal   = regexp.MustCompile(`^[1-9][0-9]*$`)
)

// sameLines checks that the peer's lines carry exactly Strata's keys, with the same
// values for every key whose value does not vary from run to run; ids, timestamps,
// latencies and locations must have Strata's form and be consistent within the trace.
func sameLines(t *testing.T, strata, peer [][]kv) {
	t.Helper()
	if len(strata) != len(peer) {
		t.Fatalf("strata writes %d lines, the peer %d", len(strata), len(peer))
	}
	for _, side := range []struct {
		name  string
		lines [][]kv
	}{{"strata", strata}, {"peer", peer}} {
		ids := map[string]bool{}
		trace := ""
		for i, line := range side.lines {
			m := asMap(t, side.name, line)
			for k, v := range m {
				switch k {
				case "timestamp":
					if !reTimestamp.MatchString(v) {
						t.Errorf("%s line %d: timestamp %q", side.name, i, v)
					}
				case "trace_id":
					if !reTraceID.MatchString(v) || (trace != "" && v != trace) {
						t.Errorf("%s line %d: trace_id %q (trace %q)", side.name, i, v, trace)
					}
					trace = v
				case "location":
					if !reLocation.MatchString(v) {
						t.Errorf("%s line %d: location %q", side.name, i, v)
					}
				case "latency_ms":
					if _, err := strconv.ParseUint(v, 10, 64); err != nil {
						t.Errorf("%s line %d: latency_ms %q", side.name, i, v)
					}
				case "span":
					if !reDecimal.MatchString(v) {
						t.Errorf("%s line %d: span %q", side.name, i, v)
					}
					if m["span_event"] == "new_span" {
						ids[v] = true
					} else if !ids[v] {
						t.Errorf("%s line %d: span %q was not opened before", side.name, i, v)
					}
				case "parent_span":
					if !ids[v] {
						t.Errorf("%s line %d: parent_span %q is not an open span of the trace", side.name, i, v)
					}
				}
			}
		}
	}
	varying := map[string]bool{"timestamp": true, "trace_id": true, "location": true, "latency_ms": true, "span": true, "parent_span": true}
	for i := range strata {
		s, p := asMap(t, "strata", strata[i]), asMap(t, "peer", peer[i])
		for k, sv := range s {
			pv, ok := p[k]
			switch {
			case !ok:
				t.Errorf("line %d: the peer lacks %s=%q\nstrata: %v\npeer:   %v", i, k, sv, strata[i], peer[i])
			case !varying[k] && pv != sv:
				t.Errorf("line %d: %s is %q for strata, %q for the peer", i, k, sv, pv)
			}
		}
		for k, pv := range p {
			if _, ok := s[k]; !ok {
				t.Errorf("line %d: the peer writes %s=%q, strata does not", i, k, pv)
			}
		}
	}
}

// The request benchmark's zerolog floor must write Strata's seven lines: the same keys,
// the same values.
func TestRequestZerologWritesTheSameLines(t *testing.T) {
	var sb bytes.Buffer
	s := newReadme(t, &sb, false)
	strataRequest(context.Background(), s.tr)
	strata := logfmtLines(t, sb.String())
	if len(strata) != 7 {
		t.Fatalf("strata wrote %d lines for the request, want 7:\n%s", len(strata), sb.String())
	}

	var zb bytes.Buffer
	zerologAsStrata(t)
	zerologRequest(zlBase(&zb), newReqMetric(vm.NewSet()))
	sameLines(t, strata, jsonLines(t, zb.String()))
	if t.Failed() || testing.Verbose() {
		t.Logf("strata:\n%s\nzerolog:\n%s", sb.String(), zb.String())
	}
}

// The peers update the series Strata's metrics layer derives for the request, once.
func TestRequestPeersUpdateTheSameMetric(t *testing.T) {
	s := newReadme(t, io.Discard, false)
	strataRequest(context.Background(), s.tr)
	var want bytes.Buffer
	s.met.WritePrometheus(&want)

	set := vm.NewSet()
	zerologAsStrata(t)
	zerologRequest(zlBase(io.Discard), newReqMetric(set))
	var got bytes.Buffer
	set.WritePrometheus(&got)

	for _, series := range []string{"http_request_total" + reqSeriesLabels + " 1",
		"http_request_duration_seconds_count" + reqSeriesLabels + " 1"} {
		if !strings.Contains(want.String(), series+"\n") {
			t.Errorf("strata's metrics lack %s:\n%s", series, want.String())
		}
		if !strings.Contains(got.String(), series+"\n") {
			t.Errorf("the peer's metrics lack %s:\n%s", series, got.String())
		}
	}
}

// The OpenTelemetry peers record the request's three spans with Strata's names and own
// fields as attributes, and log the event with the db span's trace_id and span_id and
// the event's 3 fields.
func TestRequestOtelPeersRecordTheSameSpansAndEvent(t *testing.T) {
	var sb bytes.Buffer
	s := newReadme(t, &sb, false)
	strataRequest(context.Background(), s.tr)
	want := map[string]map[string]string{} // span name -> own fields
	for _, line := range logfmtLines(t, sb.String()) {
		m := asMap(t, "strata", line)
		if m["span_event"] == "new_span" {
			want[m["span_name"]] = nil
		}
	}
	want["HTTP request"] = map[string]string{"http.method": "POST", "http.route": "/songs", "metric_name": "http_request", "metric_label_route": "/songs"}
	want["db.insert"] = map[string]string{"db.system": "postgresql", "db.operation": "insert"}
	want["vendor.lastfm.task"] = map[string]string{"vendor": "lastfm", "attempt": "1"}
	if len(want) != 3 {
		t.Fatalf("strata's span names are not the peer's: %v", want)
	}

	for _, peer := range []struct {
		name string
		log  func(io.Writer) func(context.Context, trace.SpanContext)
	}{
		{"otel_zap", func(w io.Writer) func(context.Context, trace.SpanContext) { return zapEvent(zapJSON(w)) }},
		{"otel_slog_json", func(w io.Writer) func(context.Context, trace.SpanContext) { return slogEvent(slogJSON(w)) }},
	} {
		t.Run(peer.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			defer tp.Shutdown(context.Background())
			var lb bytes.Buffer
			otelRequest(context.Background(), tp.Tracer(readmeTarget), newReqMetric(vm.NewSet()), peer.log(&lb))

			spans := exp.GetSpans()
			if len(spans) != 3 {
				t.Fatalf("%d spans recorded, want 3", len(spans))
			}
			var db tracetest.SpanStub
			for _, sp := range spans {
				fields, ok := want[sp.Name]
				if !ok {
					t.Errorf("span %q is not one of strata's", sp.Name)
					continue
				}
				got := map[string]string{}
				for _, a := range sp.Attributes {
					got[string(a.Key)] = a.Value.Emit()
				}
				if !maps.Equal(got, fields) {
					t.Errorf("span %q: attributes %v, strata's own fields %v", sp.Name, got, fields)
				}
				if sp.Name == "db.insert" {
					db = sp
				}
			}
			var line map[string]any
			dec := json.NewDecoder(&lb)
			dec.UseNumber()
			if err := dec.Decode(&line); err != nil {
				t.Fatal(err)
			}
			wantLine := map[string]string{
				"trace_id": db.SpanContext.TraceID().String(), "span_id": db.SpanContext.SpanID().String(),
				"msg": reqMsg, "song.id": "42", "song.title": reqTitle, "rows": "1",
			}
			for k, v := range wantLine {
				if got := fmt.Sprint(line[k]); got != v {
					t.Errorf("event line: %s=%q, want %q: %v", k, got, v, line)
				}
			}
		})
	}
}

// At every depth, with unique and repeated keys, the zerolog peer writes Strata's lines:
// the ancestors' new_span lines, the measured span's two lines, the ancestors'
// close_span lines.
func TestDepthZerologWritesTheSameLines(t *testing.T) {
	for _, repeated := range []bool{false, true} {
		for _, depth := range []int{1, 2, 8, 32} {
			t.Run(fmt.Sprintf("repeated=%t/depth=%d", repeated, depth), func(t *testing.T) {
				attrs := depthAttrs(depth-1, repeated)
				var sb bytes.Buffer
				tr, ctx, end := strataDepth(t, &sb, depth, repeated)
				strataLeaf(ctx, tr, attrs)
				end()

				var zb bytes.Buffer
				zerologAsStrata(t)
				z := zerologDepth(&zb, depth, repeated)
				z.leaf(attrs)
				z.end()

				strata := logfmtLines(t, sb.String())
				if want := 2 * depth; len(strata) != want {
					t.Fatalf("strata wrote %d lines, want %d", len(strata), want)
				}
				fixed := map[string]bool{"level": true, "span_name": true, "span": true, "parent_span": true,
					"span_event": true, "timestamp": true, "trace_id": true}
				fields := 0
				for k := range asMap(t, "strata", strata[depth-1]) { // the measured span's new_span line
					if !fixed[k] {
						fields++
					}
				}
				want := 5 * depth
				if repeated {
					want = 5
				}
				if fields != want {
					t.Errorf("the measured span's line has %d fields, want %d: %v", fields, want, strata[depth-1])
				}
				sameLines(t, strata, jsonLines(t, zb.String()))
			})
		}
	}
}

// The metrics peers update the series Strata's metrics layer derives for metricAttrs.
func TestMetricsPeersUpdateTheSameSeries(t *testing.T) {
	m := metrics.New()
	tr := subscriber.MustNew(storage.New(), m).Tracer("bench")
	_, span := tr.Start(context.Background(), "db.query", metricAttrs...)
	span.End()
	var want bytes.Buffer
	m.WritePrometheus(&want)

	set := vm.NewSet()
	vmHandles(newVMSeries(set), time.Now())
	var got bytes.Buffer
	set.WritePrometheus(&got)

	const labels = `{db="postgres",op="select",result="ok",span_name="db.query"}`
	for _, series := range []string{"db_event_total" + labels + " 1", "db_event_duration_seconds_count" + labels + " 1"} {
		if !strings.Contains(want.String(), series+"\n") {
			t.Errorf("strata's metrics lack %s:\n%s", series, want.String())
		}
		if !strings.Contains(got.String(), series+"\n") {
			t.Errorf("the handles' metrics lack %s:\n%s", series, got.String())
		}
	}
}

// In the disabled benchmarks nobody writes anything: the README stack and the
// all-filtered stack reject the DEBUG span and events, and the peers at INFO drop their
// DEBUG calls.
func TestReadmeDisabledWritesNothing(t *testing.T) {
	var sb bytes.Buffer
	s := newReadme(t, &sb, false)
	ctx := context.Background()
	c, sp := s.tr.StartLevel(ctx, subscriber.LevelDebug, "op", slog.String("user", "alice"))
	if sp.IsRecording() || c != ctx {
		t.Error("the README stack at info started a DEBUG span")
	}
	sp.End()
	s.tr.Debug(ctx, "cache miss")
	s.tr.Debug(ctx, "cache miss", slog.String("user", "alice"), slog.Int("attempt", 3))
	_ = s.d.Flush(ctx)
	var mb bytes.Buffer
	s.met.WritePrometheus(&mb)
	if sb.Len() != 0 || strings.Contains(mb.String(), `span_name="op"`) {
		t.Errorf("the README stack wrote for DEBUG calls:\n%s\n%s", sb.String(), mb.String())
	}

	all := newAllFiltered(t)
	if _, sp := all.StartLevel(ctx, subscriber.LevelDebug, "op"); sp.IsRecording() {
		t.Error("the all-filtered stack started a DEBUG span")
	}

	var pb bytes.Buffer
	slog.New(slog.NewTextHandler(&pb, &slog.HandlerOptions{Level: slog.LevelInfo})).DebugContext(ctx, "cache miss", "user", "alice")
	zl := zerolog.New(&pb).Level(zerolog.InfoLevel)
	zl.Debug().Str("user", "alice").Msg("cache miss")
	zapcoreLogger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&pb), zap.InfoLevel))
	zapcoreLogger.Debug("cache miss", zap.String("user", "alice"))
	if pb.Len() != 0 {
		t.Errorf("a peer at INFO wrote a DEBUG line: %s", pb.String())
	}
}
