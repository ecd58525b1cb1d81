package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The README's main command with a collector configured, as a user runs it:
// SW_AGENT_COLLECTOR_BACKEND_SERVICES=<collector> go run ./examples/songs. Every request's
// spans arrive, read through the contrib translator, with distinct span ids, and every
// span's parent is a span of the same trace that arrived too (or none, for roots).
func TestSongsDemoExportsEveryRequestThroughTheReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the songs example")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	col := startSWCollector(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "run", "./examples/songs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"SW_AGENT_COLLECTOR_BACKEND_SERVICES="+col.Addr,
		"SW_AGENT_NAME=songs",
		"STRATA_LOG=info")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/songs: %v\n%s", err, out)
	}

	// The demo sends 3 requests; each is a segment whose root is the entry span of
	// POST /songs. It flushed before exiting, so what arrived is all there is.
	spans := col.WaitSpans(t, 3, 10*time.Second)
	byID := map[string]receivedSpan{}
	traces := map[string]int{}
	for _, s := range spans {
		id := pcommon.SpanID(s.SpanID()).String()
		if _, dup := byID[id]; dup {
			t.Errorf("span id %s arrived twice: %v", id, s)
		}
		byID[id] = s
		traces[pcommon.TraceID(s.TraceID()).String()]++
		switch s.Service {
		case "songs", "lastfm", "cdbaby": // the demo and its two fake vendor services
		default:
			t.Errorf("span of service %q, want songs or one of its vendors: %v", s.Service, s)
		}
	}
	entries := 0
	for _, s := range spans {
		if s.Service == "songs" && s.Name() == "POST /songs" {
			entries++
		}
		parent := pcommon.SpanID(s.ParentSpanID())
		if parent.IsEmpty() {
			continue
		}
		p, ok := byID[parent.String()]
		if !ok {
			t.Errorf("span %v: its parent %s did not arrive", s, parent)
			continue
		}
		if p.TraceID() != s.TraceID() {
			t.Errorf("span %v: parent %v is in another trace", s, p)
		}
	}
	if entries != 3 {
		t.Errorf("%d entry spans POST /songs, want one per request (3); received: %v", entries, spans)
	}
	if len(traces) != 3 {
		t.Errorf("%d traces, want 3 (one per request); received: %v", len(traces), spans)
	}
}
