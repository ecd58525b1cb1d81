package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logfmt/logfmt"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The README's first command, as a newcomer runs it: every log line of the demo decodes
// as logfmt, and the metrics block it prints parses with the Prometheus text parser.
func TestSongsDemoOutputIsLogfmtThenPrometheusText(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the songs example")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "run", "./examples/songs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SW_AGENT_COLLECTOR_BACKEND_SERVICES=", "STRATA_LOG=")
	out, err := cmd.Output() // stdout only: the demo's stderr says whether it exports
	if err != nil {
		t.Fatalf("go run ./examples/songs: %v\n%s", err, out)
	}
	logs, report, ok := strings.Cut(string(out), "# derived metrics")
	if !ok {
		t.Fatalf("no metrics block in the demo's output:\n%s", out)
	}
	lines := 0
	dec := logfmt.NewDecoder(strings.NewReader(logs))
	for dec.ScanRecord() {
		for dec.ScanKeyval() {
		}
		lines++
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("a log line does not decode as logfmt: %v", err)
	}
	if lines == 0 {
		t.Fatal("the demo printed no log line")
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader("# derived metrics" + report))
	if err != nil {
		t.Fatalf("the metrics block does not parse as Prometheus text: %v\n%s", err, report)
	}
	for _, want := range []string{"songs_http_request_total", "db_event_total", "songs_vendor_call_total"} {
		if _, ok := families[want]; !ok {
			t.Errorf("the metrics block has no %s", want)
		}
	}
}
