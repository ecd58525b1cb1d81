package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/go-logfmt/logfmt"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestDemoLogsCorrelatedLinesAndDerivesMetrics(t *testing.T) {
	t.Setenv("STRATA_LOG", "")
	var out syncBuffer
	if err := run("", &out); err != nil {
		t.Fatal(err)
	}
	text := out.b.String()
	logs, report, ok := strings.Cut(text, "# derived metrics")
	if !ok {
		t.Fatalf("no metrics report in the output:\n%s", text)
	}

	// Every log line decodes; every line of a request carries that request's trace id.
	traceOfSpan := map[string]string{}
	requests := 0
	dec := logfmt.NewDecoder(strings.NewReader(logs))
	for dec.ScanRecord() {
		kv := map[string]string{}
		for dec.ScanKeyval() {
			kv[string(dec.Key())] = string(dec.Value())
		}
		if kv["trace_id"] == "" || len(kv["trace_id"]) != 32 {
			t.Errorf("line without a 128-bit trace id: %v", kv)
		}
		if kv["span_name"] == "HTTP request" && kv["span_event"] == "new_span" {
			requests++
		}
		if p := kv["parent_span"]; p != "" {
			if tr, seen := traceOfSpan[p]; seen && tr != kv["trace_id"] {
				t.Errorf("span %s has trace %s but its parent %s has %s", kv["span"], kv["trace_id"], p, tr)
			}
		}
		if kv["span"] != "" {
			traceOfSpan[kv["span"]] = kv["trace_id"]
		}
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("a log line does not decode: %v", err)
	}
	if requests != 3 {
		t.Errorf("saw %d requests, want 3", requests)
	}

	for _, want := range []string{
		`songs_http_request_total{result="ok",route="/songs",span_name="HTTP request"} 2`,
		`songs_http_request_total{result="error",route="/songs",span_name="HTTP request"} 1`,
		`songs_vendor_call_total{result="error",span_name="vendor.lastfm.task",vendor="lastfm"} 1`,
		`songs_vendor_call_total{result="error",span_name="vendor.cdbaby.task",vendor="cdbaby"} 1`,
		`db_event_total{event_table="songs",event_type="song_created",result="ok",span_name="record.save_event"} 2`,
		`strata_logfmt_lines_dropped 0`,
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// A server that runs for days must not keep every request's background task: finished
// tasks are dropped as new ones start.
func TestServerForgetsFinishedBackgroundTasks(t *testing.T) {
	a := newApp()
	for i := 0; i < 200; i++ {
		done := httpTr.Go(context.Background(), "work", func(context.Context) error { return nil })
		<-done.Done()
		a.track(done)
	}
	if n := a.pending(); n > 1 {
		t.Fatalf("the app holds %d background tasks after 200 finished ones, want at most the newest", n)
	}
	failing := httpTr.Go(context.Background(), "work", func(context.Context) error { return errors.New("enrich failed") })
	a.track(failing)
	if err := a.wait(); err == nil || !strings.Contains(err.Error(), "enrich failed") {
		t.Fatalf("wait() = %v, want the failed task's error", err)
	}
	if a.pending() != 0 {
		t.Fatalf("pending() = %d after wait, want 0", a.pending())
	}
}
