package otlp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// Shutdown sends what waits for a fuller batch, then refuses new spans (counted
// dropped) and closes the connection.
func TestShutdownDeliversWhatIsQueued(t *testing.T) {
	col := startCollector(t)
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure(), WithFlushInterval(time.Hour), WithBatchSize(1000))
	d := compose(t, l)
	tr := d.Tracer("songs")
	for range 5 {
		_, span := tr.Start(context.Background(), "queued")
		span.End()
	}
	if n := len(col.spans()); n != 0 {
		t.Fatalf("%d spans sent before the batch filled or the hour passed", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := len(col.spans()); n != 5 {
		t.Errorf("the collector got %d spans, want 5", n)
	}
	_, span := tr.Start(context.Background(), "late")
	span.End()
	if st := l.Stats(); st.Sent != 5 || st.Queued != 0 || st.Failed != 0 {
		t.Errorf("stats %+v, want 5 sent", st)
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
}

// With no collector, Shutdown returns by its deadline and says how many spans were lost.
func TestShutdownWithoutACollectorReturnsByItsDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	l := testLayer(t, WithEndpoint(addr), WithInsecure())
	tr := compose(t, l).Tracer("songs")
	for range 3 {
		_, span := tr.Start(context.Background(), "unsent")
		span.End()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = l.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 items not delivered") {
		t.Fatalf("shutdown: %v, want 3 items not delivered and the deadline", err)
	}
	if st := l.Stats(); st.Failed != 3 || st.Sent != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want 3 failed", st)
	}
}

// A partial success counts the rejected spans and says so in the log, once per 30s.
func TestPartialSuccessCountsRejectedSpans(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			var endpoint string
			if protocol == ProtocolGRPC {
				col := startCollector(t)
				col.mu.Lock()
				col.rejected = 2
				col.mu.Unlock()
				endpoint = "http://" + col.Addr
			} else {
				col := startHTTPCollector(t)
				col.mu.Lock()
				col.rejected = 2
				col.mu.Unlock()
				endpoint = col.URL
			}
			logs := make(chan string, 10)
			l := testLayer(t, WithProtocol(protocol), WithEndpoint(endpoint), WithLogf(func(format string, args ...any) {
				logs <- format
			}))
			tr := compose(t, l).Tracer("songs")
			for range 3 {
				_, span := tr.Start(context.Background(), "work")
				span.End()
			}
			flush(t, l)
			_, span := tr.Start(context.Background(), "work")
			span.End()
			flush(t, l)
			st := l.Stats()
			if st.Sent != 4 || st.Rejected != 4 {
				t.Errorf("stats %+v, want 4 sent, 4 rejected", st)
			}
			if g := l.Gauges()["strata_otlp_spans_rejected_total"]; g == nil || g() != 4 {
				t.Errorf("rejected gauge missing or wrong")
			}
			if len(logs) != 1 {
				t.Errorf("%d log lines, want 1 (rate-limited)", len(logs))
			}
		})
	}
}

// The gauges follow the counters, under the strata_otlp prefix.
func TestGaugesFollowTheStats(t *testing.T) {
	col := startCollector(t)
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
	tr := compose(t, l).Tracer("songs")
	_, span := tr.Start(context.Background(), "work")
	span.End()
	flush(t, l)
	g := l.Gauges()
	for name, want := range map[string]float64{
		"strata_otlp_spans_total": 1, "strata_otlp_spans_sent_total": 1, "strata_otlp_spans_dropped_total": 0,
		"strata_otlp_spans_failed_total": 0, "strata_otlp_queue_length": 0, "strata_otlp_retries_total": 0,
		"strata_otlp_events_dropped_total": 0, "strata_otlp_spans_rejected_total": 0,
	} {
		if f := g[name]; f == nil || f() != want {
			t.Errorf("%s missing or not %v", name, want)
		}
	}
}
