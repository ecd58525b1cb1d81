package datadog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/datadog"
)

// A call from one service to another through instrument/nethttp, each service with its
// own dispatch and Datadog layer, is one trace at the Agent: the same trace id and
// _dd.p.tid, and the server span's parent is the client span.
func TestTwoServicesMakeOneTrace(t *testing.T) {
	agent := newFakeAgent(t)
	front := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithService("front"))
	back := newService(t, datadog.WithAgentURL(agent.url()), datadog.WithService("back"))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /songs/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, s := back.tr.Start(r.Context(), "db.lookup", slog.String("db.system", "redis"))
		s.End()
		_, _ = io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(nethttp.Middleware(mux, nethttp.WithDispatch(back.d)))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: nethttp.Transport(nil, nethttp.WithDispatch(front.d))}

	ctx, caller := front.tr.Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/songs/7", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	caller.End()
	srv.Close() // the server span has ended once its handler returned
	back.flush(t)
	front.flush(t)

	spans := agent.spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans at the agent, want 4 (caller, client, server, db)", len(spans))
	}
	var client, server, callerSpan, db ddSpan
	for _, s := range spans {
		switch {
		case s.Service == "front" && s.Type == "http":
			client = s
		case s.Service == "front":
			callerSpan = s
		case s.Service == "back" && s.Type == "web":
			server = s
		case s.Service == "back" && s.Type == "redis":
			db = s
		}
	}
	for _, s := range []ddSpan{client, server, callerSpan, db} {
		if s.TraceID != callerSpan.TraceID || s.TraceID == 0 || s.Meta["_dd.p.tid"] != callerSpan.Meta["_dd.p.tid"] {
			t.Errorf("span %s/%s: trace %d %s, want the caller's %d %s", s.Service, s.Resource, s.TraceID, s.Meta["_dd.p.tid"], callerSpan.TraceID, callerSpan.Meta["_dd.p.tid"])
		}
	}
	if client.ParentID != callerSpan.SpanID || server.ParentID != client.SpanID || db.ParentID != server.SpanID {
		t.Errorf("parents: client %d→%d, server %d→%d (want the client's), db %d→%d", client.SpanID, client.ParentID,
			server.SpanID, server.ParentID, db.SpanID, db.ParentID)
	}
	if server.Resource != "GET /songs/{id}" || server.Name != "http.request" || client.Name != "http.request" {
		t.Errorf("server %q/%q, client %q", server.Name, server.Resource, client.Name)
	}
	if server.Metrics["_dd.top_level"] != 1 || callerSpan.Metrics["_dd.top_level"] != 1 || client.Metrics["_dd.top_level"] != 0 {
		t.Errorf("top level: server %v caller %v client %v, want 1 1 0", server.Metrics["_dd.top_level"],
			callerSpan.Metrics["_dd.top_level"], client.Metrics["_dd.top_level"])
	}
	if fmt.Sprint(server.Metrics["_sampling_priority_v1"]) != fmt.Sprint(callerSpan.Metrics["_sampling_priority_v1"]) {
		t.Errorf("priorities differ between the services")
	}
}
