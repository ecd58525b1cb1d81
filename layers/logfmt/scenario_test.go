package logfmt_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The article's scenario: an HTTP request span, a vendor task under it, an event in the
// task, and a failing call (an error event and EndErr).
func TestArticleScenarioLinesDecodeWithInheritedFieldsAndMatchingIDs(t *testing.T) {
	buf := &syncBuffer{}
	var callFailed, taskFailed bool
	probe := closeProbe(func(span subscriber.SpanRef) {
		switch span.Name() {
		case "vendor.lastfm.call":
			callFailed = storage.HasError(span)
		case "vendor.lastfm.task":
			taskFailed = storage.HasError(span)
		}
	})
	d := mustNew(t, storage.New(), logfmt.New(buf), probe)
	tr := d.Tracer("songs/vendor")

	ctx, req := tr.Start(context.Background(), "HTTP request",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"))
	reqID := req.ID()
	vctx, task := tr.Start(ctx, "vendor.lastfm.task", slog.String("subject", "vendor.lastfm"))
	taskID := task.ID()
	time.Sleep(5 * time.Millisecond)
	_, file, infoLine, _ := runtime.Caller(0)
	tr.Info(vctx, "finished processing vendor request", slog.Int("vendor.status", 200))
	cctx, call := tr.Start(vctx, "vendor.lastfm.call")
	callID := call.ID()
	tr.Error(cctx, "vendor call failed", slog.String("error", "connection reset by peer"))
	call.EndErr(errors.New("connection reset by peer"))
	task.End()
	req.End()
	traceID := subscriber.TraceID(ctx).String()

	lines := decode(t, buf.Bytes())
	if buf.writes != len(lines) {
		t.Errorf("%d Write calls for %d lines: want one Write per line", buf.writes, len(lines))
	}
	type want struct {
		keys       []string
		values     map[string]string
		spanID     uint64
		parentSpan uint64
	}
	spanHead := []string{"level", "span_name", "span", "parent_span", "span_event", "timestamp", "trace_id"}
	rootHead := []string{"level", "span_name", "span", "span_event", "timestamp", "trace_id"}
	tail := []string{"target", "location", "timestamp", "span", "trace_id"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	wants := []want{
		{keys: cat(rootHead, []string{"http.method", "http.route"}),
			values: map[string]string{"level": "INFO", "span_name": "HTTP request", "span_event": "new_span",
				"http.method": "POST", "http.route": "/songs"},
			spanID: uint64(reqID)},
		// Stored fields nearest first: the span's own, then its ancestors', as DESIGN.md's
		// lines show them (subject=vendor.lastfm http.route=/songs).
		{keys: cat(spanHead, []string{"subject", "http.method", "http.route"}),
			values: map[string]string{"span_name": "vendor.lastfm.task", "span_event": "new_span", "subject": "vendor.lastfm"},
			spanID: uint64(taskID), parentSpan: uint64(reqID)},
		{keys: cat([]string{"level", "msg", "vendor.status", "subject", "http.method", "http.route"}, tail),
			values: map[string]string{"level": "INFO", "msg": "finished processing vendor request",
				"vendor.status": "200", "http.route": "/songs", "subject": "vendor.lastfm", "target": "songs/vendor",
				"location": "logfmt/scenario_test.go:" + strconv.Itoa(infoLine+1)},
			spanID: uint64(taskID)},
		// The call has no fields of its own: the task's, then the request's.
		{keys: cat(spanHead, []string{"subject", "http.method", "http.route"}),
			values: map[string]string{"span_name": "vendor.lastfm.call", "span_event": "new_span"},
			spanID: uint64(callID), parentSpan: uint64(taskID)},
		{keys: cat([]string{"level", "msg", "error", "subject", "http.method", "http.route"}, tail),
			values: map[string]string{"level": "ERROR", "msg": "vendor call failed", "error": "connection reset by peer"},
			spanID: uint64(callID)},
		// The error event's field is the call's own: it comes before the inherited ones.
		{keys: cat(spanHead, []string{"latency_ms", "error", "subject", "http.method", "http.route"}),
			values: map[string]string{"span_name": "vendor.lastfm.call", "span_event": "close_span",
				"error": "connection reset by peer"},
			spanID: uint64(callID), parentSpan: uint64(taskID)},
		// DESIGN.md's close line: latency_ms=18 subject=vendor.lastfm http.route=/songs, the
		// task's own subject before the request's inherited http.method and http.route.
		{keys: cat(spanHead, []string{"latency_ms", "subject", "http.method", "http.route"}),
			values: map[string]string{"span_name": "vendor.lastfm.task", "span_event": "close_span",
				"subject": "vendor.lastfm", "http.method": "POST", "http.route": "/songs"},
			spanID: uint64(taskID), parentSpan: uint64(reqID)},
		{keys: cat(rootHead, []string{"latency_ms", "http.method", "http.route"}),
			values: map[string]string{"span_name": "HTTP request", "span_event": "close_span"},
			spanID: uint64(reqID)},
	}
	if len(lines) != len(wants) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(wants), buf)
	}
	for i, w := range wants {
		l := lines[i]
		if !slices.Equal(l.keys(), w.keys) {
			t.Errorf("line %d keys:\n got %v\nwant %v", i+1, l.keys(), w.keys)
		}
		for k, v := range w.values {
			if got, _ := l.get(t, k); got != v {
				t.Errorf("line %d: %s=%q, want %q", i+1, k, got, v)
			}
		}
		if got := l.must(t, "trace_id"); got != traceID || len(got) != 32 {
			t.Errorf("line %d: trace_id=%q, want subscriber.TraceID(ctx)=%q", i+1, got, traceID)
		}
		if got := l.must(t, "span"); got != strconv.FormatUint(w.spanID, 10) {
			t.Errorf("line %d: span=%s, want %d", i+1, got, w.spanID)
		}
		if w.parentSpan != 0 {
			if got := l.must(t, "parent_span"); got != strconv.FormatUint(w.parentSpan, 10) {
				t.Errorf("line %d: parent_span=%s, want %d", i+1, got, w.parentSpan)
			}
		}
		ts := l.must(t, "timestamp")
		tm, err := time.Parse("2006-01-02T15:04:05.000000Z", ts)
		if err != nil || time.Since(tm) > time.Minute || time.Since(tm) < 0 {
			t.Errorf("line %d: timestamp %q is not a recent UTC time with microseconds (%v)", i+1, ts, err)
		}
	}
	// latency_ms: the task slept 5ms; nothing here takes a second.
	for _, i := range []int{6, 7} {
		ms, err := strconv.Atoi(lines[i].must(t, "latency_ms"))
		if err != nil || ms < 5 || ms > 10_000 {
			t.Errorf("line %d: latency_ms=%v (%v), want between 5 and 10000", i+1, ms, err)
		}
	}
	if !strings.HasSuffix(file, "layers/logfmt/scenario_test.go") {
		t.Fatalf("runtime.Caller gave %q", file)
	}
	if !callFailed {
		t.Error("storage.HasError = false for the call that ended with EndErr")
	}
	if taskFailed {
		t.Error("storage.HasError = true for the task: its child's error must not mark it")
	}
}
