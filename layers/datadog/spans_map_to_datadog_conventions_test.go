package datadog_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
)

// An HTTP request with a database call and a failing step reaches the Agent as one
// trace of Datadog spans: ids split as Datadog's tracers split them, parents linked,
// names, resources and types by Datadog's conventions, error and HTTP fields under
// Datadog's names, strings in meta and numbers in metrics.
func TestSpansMapToDatadogConventions(t *testing.T) {
	agent := newFakeAgent(t)
	svc := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithService("songs"),
		datadog.WithEnv("prod"), datadog.WithVersion("1.2.3"))

	ctx, root := svc.tr.Start(context.Background(), "GET /songs/{id}",
		slog.String("otel.kind", "server"), slog.String("http.method", "GET"),
		slog.String("http.route", "/songs/{id}"), slog.String("http_url", "http://songs/songs/7"))
	traceID, rootID := root.TraceID(), root.ID()
	dctx, db := svc.tr.Start(ctx, "db.select", slog.String("db.system", "postgresql"),
		slog.String("db.statement", "SELECT * FROM songs WHERE id = $1"), slog.Int("rows", 3),
		slog.Bool("cached", false), slog.Float64("ratio", 0.25))
	db.End()
	rctx, step := svc.tr.Start(dctx, "render", slog.Int("http_status_code", 500))
	svc.tr.Error(rctx, "render failed", slog.String("error_msg", "template missing"),
		slog.String("error_stack", "main.render\n\tmain.go:12"), slog.String("error_type", "*fs.PathError"))
	step.End()
	root.Record(slog.Int("http.status_code", 500))
	root.EndErr(errors.New("internal error"))
	svc.flush(t)

	spans := agent.spans()
	if len(spans) != 3 {
		t.Fatalf("the agent got %d spans, want 3", len(spans))
	}
	agent.mu.Lock()
	payloads, hdr := len(agent.payloads[0]), agent.headers[0]
	agent.mu.Unlock()
	if payloads != 1 {
		t.Errorf("the spans of one trace came in %d trace arrays, want 1", payloads)
	}
	for k, want := range map[string]string{"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": "1",
		"Datadog-Meta-Lang": "go", "Datadog-Meta-Tracer-Version": datadog.TracerVersion} {
		if got := hdr.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if hdr.Get("Datadog-Meta-Lang-Version") == "" {
		t.Error("no Datadog-Meta-Lang-Version header")
	}

	id, ok := traceID.Bytes()
	if !ok {
		t.Fatalf("trace id %s is not 128 bits", traceID)
	}
	hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
	web := agent.find(t, "GET /songs/{id}")
	sql := agent.find(t, "db.select")
	render := agent.find(t, "render")
	for _, s := range []ddSpan{web, sql, render} {
		if s.TraceID != lo {
			t.Errorf("%s: trace_id %d, want the lower 64 bits %d", s.Resource, s.TraceID, lo)
		}
		if got := s.Meta["_dd.p.tid"]; got != fmt.Sprintf("%016x", hi) {
			t.Errorf("%s: _dd.p.tid %q, want %016x", s.Resource, got, hi)
		}
		if s.Service != "songs" || s.Meta["env"] != "prod" || s.Meta["version"] != "1.2.3" || s.Meta["language"] != "go" {
			t.Errorf("%s: service %q env %q version %q language %q", s.Resource, s.Service, s.Meta["env"], s.Meta["version"], s.Meta["language"])
		}
		if s.Duration < 0 || s.Start <= 0 {
			t.Errorf("%s: start %d duration %d", s.Resource, s.Start, s.Duration)
		}
	}
	if uint64(rootID) != web.SpanID || web.ParentID != 0 || sql.ParentID != web.SpanID || render.ParentID != sql.SpanID {
		t.Errorf("ids: root %d web %d/%d, sql %d/%d, render %d/%d", rootID, web.SpanID, web.ParentID, sql.SpanID, sql.ParentID, render.SpanID, render.ParentID)
	}

	// The HTTP server span.
	if web.Name != "http.request" || web.Resource != "GET /songs/{id}" || web.Type != "web" {
		t.Errorf("server span: name %q resource %q type %q, want http.request, GET /songs/{id}, web", web.Name, web.Resource, web.Type)
	}
	if web.Meta["span.kind"] != "server" || web.Meta["http.method"] != "GET" || web.Meta["http.url"] != "http://songs/songs/7" || web.Meta["http.status_code"] != "500" {
		t.Errorf("server span meta %v", web.Meta)
	}
	if _, raw := web.Meta["http_url"]; raw {
		t.Error("http_url written under its own name besides http.url")
	}
	if web.Error != 1 || web.Meta["error.message"] != "internal error" {
		t.Errorf("server span error %d, error.message %q, want 1, internal error", web.Error, web.Meta["error.message"])
	}
	if web.Metrics["_dd.top_level"] != 1 || web.Metrics["_sampling_priority_v1"] != 1 {
		t.Errorf("server span metrics %v, want _dd.top_level 1 and priority 1", web.Metrics)
	}

	// The database span.
	if sql.Name != "db.select" || sql.Resource != "SELECT * FROM songs WHERE id = $1" || sql.Type != "sql" {
		t.Errorf("db span: name %q resource %q type %q", sql.Name, sql.Resource, sql.Type)
	}
	if sql.Metrics["rows"] != 3 || sql.Metrics["ratio"] != 0.25 || sql.Meta["cached"] != "false" || sql.Meta["db.system"] != "postgresql" {
		t.Errorf("db span typing: metrics %v meta %v", sql.Metrics, sql.Meta)
	}
	if sql.Error != 0 || sql.Metrics["_dd.top_level"] != 0 {
		t.Errorf("db span error %d top level %v, want 0 and none", sql.Error, sql.Metrics["_dd.top_level"])
	}

	// The failing step: error fields of its event under Datadog's names.
	if render.Name != "render" || render.Resource != "render" || render.Type != "custom" {
		t.Errorf("render span: name %q resource %q type %q", render.Name, render.Resource, render.Type)
	}
	if render.Error != 1 || render.Meta["error.message"] != "template missing" ||
		render.Meta["error.stack"] != "main.render\n\tmain.go:12" || render.Meta["error.type"] != "*fs.PathError" {
		t.Errorf("render span error %d meta %v", render.Error, render.Meta)
	}
	if render.Meta["http.status_code"] != strconv.Itoa(500) {
		t.Errorf("http_status_code became %q in meta, want 500", render.Meta["http.status_code"])
	}
	for _, k := range []string{"error_msg", "error_stack", "error_type", "error"} {
		if _, ok := render.Meta[k]; ok {
			t.Errorf("render span keeps %s besides its Datadog name", k)
		}
	}
	if render.Meta["events"] == "" {
		t.Error("the render span's event is not in its events tag")
	}
}
