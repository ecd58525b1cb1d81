package datadog_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/subscriber"
)

// Spans of several traces that end interleaved, sent in one batch, reach the Agent as
// one trace array per trace (X-Datadog-Trace-Count of them), each array holding all of
// its trace's spans, in the order they ended.
func TestBatchesGroupInterleavedSpansByTrace(t *testing.T) {
	agent := newFakeAgent(t)
	svc := newService(t, datadog.WithAgentURL(agent.url()),
		datadog.WithFlushInterval(time.Hour), datadog.WithBatchSize(1000))

	const traces, children = 3, 3
	roots := make([]subscriber.Span, traces)
	ctxs := make([]context.Context, traces)
	kids := make([][]subscriber.Span, traces)
	for i := range traces {
		ctxs[i], roots[i] = svc.tr.Start(context.Background(), fmt.Sprintf("root%d", i))
		for j := range children {
			_, s := svc.tr.Start(ctxs[i], fmt.Sprintf("t%d.c%d", i, j))
			kids[i] = append(kids[i], s)
		}
	}
	// End them round robin over the traces: t0.c0, t1.c0, t2.c0, t0.c1, ...
	los := make([]uint64, traces) // the trace ids' low 64 bits, the Agent's trace_id
	for i := range traces {
		id, ok := roots[i].TraceID().Bytes()
		if !ok {
			t.Fatalf("trace id %s is not 128 bits", roots[i].TraceID())
		}
		los[i] = binary.BigEndian.Uint64(id[8:])
	}
	ended := map[uint64][]string{} // trace_id -> span names in end order
	end := func(i int, s subscriber.Span, name string) {
		s.End()
		ended[los[i]] = append(ended[los[i]], name)
	}
	for j := range children {
		for i := range traces {
			end(i, kids[i][j], fmt.Sprintf("t%d.c%d", i, j))
		}
	}
	for i := range traces {
		end(i, roots[i], fmt.Sprintf("root%d", i))
	}
	svc.flush(t)

	if n := len(agent.spans()); n != traces*(children+1) {
		t.Fatalf("the agent got %d spans, want %d", n, traces*(children+1))
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if len(agent.payloads) != 1 {
		t.Fatalf("%d payloads, want the one batch", len(agent.payloads))
	}
	payload := agent.payloads[0]
	if got := agent.headers[0].Get("X-Datadog-Trace-Count"); got != strconv.Itoa(traces) || len(payload) != traces {
		t.Errorf("X-Datadog-Trace-Count %s and %d trace arrays, want %d", got, len(payload), traces)
	}
	for _, tr := range payload {
		var names []string
		for _, s := range tr {
			if s.TraceID != tr[0].TraceID {
				t.Errorf("trace array of %d holds a span of trace %d", tr[0].TraceID, s.TraceID)
			}
			names = append(names, s.Name)
		}
		want := ended[tr[0].TraceID]
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("trace %d: spans %v, want %v (their end order)", tr[0].TraceID, names, want)
		}
		delete(ended, tr[0].TraceID)
	}
	if len(ended) != 0 {
		t.Errorf("traces with no array: %v", ended)
	}
}

// A field whose Datadog name another field of the span has already (http_method and
// http.request.method are both http.method) is left out, whether the span has a few
// fields or many (the first one wins), and no tag key is written twice (the fake agent
// refuses a span with a key twice).
func TestFieldsAreTaggedOnceFirstWins(t *testing.T) {
	for _, many := range []int{0, 40} {
		t.Run(fmt.Sprintf("%d_other_fields", many), func(t *testing.T) {
			agent := newFakeAgent(t)
			svc := newService(t, datadog.WithAgentURL(agent.url()))
			var attrs []slog.Attr
			for i := range many {
				if i%2 == 0 {
					attrs = append(attrs, slog.Int(fmt.Sprintf("n%02d", i), i))
				} else {
					attrs = append(attrs, slog.String(fmt.Sprintf("s%02d", i), strconv.Itoa(i)))
				}
			}
			attrs = append(attrs,
				slog.String("http_method", "GET"), slog.String("http.request.method", "POST"),
				slog.Int("http_status_code", 500), slog.Int("http.response.status_code", 404),
				slog.Bool("cached", true), slog.String("url.full", "http://a/1"), slog.String("http_url", "http://b/2"))
			_, s := svc.tr.Start(context.Background(), "op", attrs...)
			s.End()
			svc.flush(t)

			got := agent.find(t, "op")
			if got.Meta["http.method"] != "GET" || got.Meta["http.status_code"] != "500" || got.Meta["cached"] != "true" || got.Meta["http.url"] != "http://a/1" {
				t.Errorf("http.method %q, http.status_code %q, cached %q, http.url %q; want GET, 500, true, http://a/1",
					got.Meta["http.method"], got.Meta["http.status_code"], got.Meta["cached"], got.Meta["http.url"])
			}
			for i := range many {
				if i%2 == 0 && got.Metrics[fmt.Sprintf("n%02d", i)] != float64(i) {
					t.Errorf("n%02d = %v, want %d", i, got.Metrics[fmt.Sprintf("n%02d", i)], i)
				}
				if i%2 == 1 && got.Meta[fmt.Sprintf("s%02d", i)] != strconv.Itoa(i) {
					t.Errorf("s%02d = %q, want %d", i, got.Meta[fmt.Sprintf("s%02d", i)], i)
				}
			}
		})
	}
}

// Invalid UTF-8 in a span's name, its resource (from http.route), a field, the service
// or the env reaches the Agent as valid UTF-8, which its decoder requires.
func TestInvalidUTF8IsWrittenValid(t *testing.T) {
	agent := newFakeAgent(t)
	svc := newService(t, datadog.WithAgentURL(agent.url()),
		datadog.WithService("songs\xff"), datadog.WithEnv("pr\xfeod"))
	_, s := svc.tr.Start(context.Background(), "GET \xc3",
		slog.String("otel.kind", "server"), slog.String("http.method", "GET"),
		slog.String("http.route", "/songs/\xff"), slog.String("key\xff", "v\xfe"))
	s.End()
	svc.flush(t)

	spans := agent.spans()
	if len(spans) != 1 {
		t.Fatalf("the agent got %d spans, want 1", len(spans))
	}
	got := spans[0]
	for what, v := range map[string]string{"service": got.Service, "name": got.Name, "resource": got.Resource, "env": got.Meta["env"]} {
		if !utf8.ValidString(v) {
			t.Errorf("%s %q is not valid UTF-8", what, v)
		}
	}
	if got.Resource != "GET /songs/\uFFFD" || got.Meta["env"] != "pr\uFFFDod" || got.Service != "songs\uFFFD" {
		t.Errorf("resource %q env %q service %q", got.Resource, got.Meta["env"], got.Service)
	}
	if got.Meta["key\uFFFD"] != "v\uFFFD" {
		t.Errorf("meta %v, want key\uFFFD: v\uFFFD", got.Meta)
	}
}

// Payloads far larger than the transport's write buffer, several in a row over one
// kept-alive connection, reach the Agent whole: every span, with its fields.
func TestLargePayloadsArriveWhole(t *testing.T) {
	agent := newFakeAgent(t)
	svc := newService(t, datadog.WithAgentURL(agent.url()),
		datadog.WithFlushInterval(time.Hour), datadog.WithBatchSize(400))
	const spans = 1000
	pad := strings.Repeat("x", 300)
	for i := range spans {
		_, s := svc.tr.Start(context.Background(), fmt.Sprintf("op%d", i),
			slog.String("pad", pad), slog.Int("i", i))
		s.End()
	}
	svc.flush(t)

	got := agent.spans()
	if len(got) != spans {
		t.Fatalf("the agent got %d spans, want %d", len(got), spans)
	}
	seen := make([]bool, spans)
	for _, s := range got {
		i := int(s.Metrics["i"])
		if s.Name != fmt.Sprintf("op%d", i) || s.Meta["pad"] != pad || seen[i] {
			t.Fatalf("span %q: i %d, pad of %d bytes, seen before %v", s.Name, i, len(s.Meta["pad"]), seen[i])
		}
		seen[i] = true
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if len(agent.payloads) < 3 {
		t.Errorf("%d payloads, want at least 3 (batches of 400)", len(agent.payloads))
	}
}
