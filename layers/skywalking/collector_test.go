package skywalking

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// Through a real gRPC collector: the instance reports its properties (with the layer from
// SW_AGENT_LAYER) and the token on every call, a request's segment arrives as assembled,
// Shutdown delivers it and stops every goroutine, and the stats say it was sent.
func TestSegmentsReachTheCollector(t *testing.T) {
	before := runtime.NumGoroutine()
	col := oaptest.Start(t)
	t.Setenv(EnvCollector, col.Addr())
	t.Setenv(EnvService, "songs")
	t.Setenv(EnvInstance, "songs-1")
	t.Setenv(EnvAuthentication, "secret")
	t.Setenv(EnvLayer, "GENERAL")
	t.Setenv(EnvHeartbeat, "1")
	l, err := FromEnv(WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(storage.New(), l)
	tr := d.Tracer("songs")
	ctx, root := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"), slog.String("http.method", "GET"))
	_, child := tr.Start(ctx, "db.query", slog.String("db.system", "postgresql"))
	child.End()
	root.End()

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := col.WaitSegments(t, 1, 5*time.Second)
	if len(got) != 1 || got[0].Service != "songs" || got[0].ServiceInstance != "songs-1" || len(got[0].Spans) != 2 {
		t.Fatalf("collector got %s", describe(got))
	}
	if sp := got[0].Spans[1]; sp.OperationName != "db.query" || sp.ParentSpanId != 0 || sp.SpanLayer.String() != "Database" {
		t.Errorf("child span on the wire: %v", sp)
	}
	props := col.WaitProperties(t, 1, 5*time.Second)
	if p := props[0]; p.Service != "songs" || p.ServiceInstance != "songs-1" || p.Layer != "GENERAL" {
		t.Errorf("properties %v", p)
	}
	for _, tok := range col.Tokens() {
		if tok != "secret" {
			t.Errorf("a call carried authentication %q, want secret", tok)
		}
	}
	if st := l.Stats(); st.Segments != 1 || st.Sent != 1 || st.Dropped != 0 || st.Failed != 0 || st.Queued != 0 {
		t.Errorf("stats %+v, want 1 segment sent", st)
	}
	if n := goroutinesSettle(before + 2); n > before+2 { // the collector's own server goroutines stop at cleanup
		t.Errorf("%d goroutines after Shutdown, %d before", n, before)
	}
}

// A collector that is not there: Shutdown returns by its deadline and says what was not
// delivered.
func TestShutdownSaysWhatTheCollectorDidNotGet(t *testing.T) {
	l, err := New(WithService("svc"), WithCollector("127.0.0.1:1"), WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(l)
	_, sp := d.Tracer("t").Start(context.Background(), "x")
	sp.End()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Shutdown(ctx)
	if err == nil {
		t.Fatal("Shutdown succeeded with no collector")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Shutdown took %v past a 300ms deadline", took)
	}
	if st := l.Stats(); st.Failed != 1 {
		t.Errorf("stats %+v, want the segment counted failed; error: %v", st, err)
	}
}
