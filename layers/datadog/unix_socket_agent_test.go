package datadog_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
)

// WithAgentURL("unix:///path") sends to an Agent listening on a unix socket.
func TestUnixSocketAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "apm.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable here: %v", err)
	}
	agent := &fakeAgent{t: t}
	agent.srv = httptest.NewUnstartedServer(http.HandlerFunc(agent.serve))
	agent.srv.Listener = ln
	agent.srv.Start()
	t.Cleanup(agent.srv.Close)

	svc := newService(t, datadog.WithAgentURL("unix://"+sock))
	runTrace(svc, "over-unix")
	svc.flush(t)
	if got := len(agent.spans()); got != 3 {
		t.Errorf("%d spans over the unix socket, want 3", got)
	}
}
