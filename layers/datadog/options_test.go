package datadog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/datadog"
)

// FromEnv reads the variables Datadog's tracers read; DD_TRACE_AGENT_URL wins over
// DD_AGENT_HOST and DD_TRACE_AGENT_PORT, explicit options win over all, and malformed
// values are errors naming the variable or option. The URL chosen is checked by where
// the spans arrive.
func TestFromEnv(t *testing.T) {
	agent := newFakeAgent(t)
	host, port, _ := strings.Cut(strings.TrimPrefix(agent.url(), "http://"), ":")
	down := downURL(t)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		opts    []datadog.Option
		wantErr string // "" when the layer reaches the agent
	}{
		{"url", map[string]string{"DD_TRACE_AGENT_URL": agent.url()}, nil, ""},
		{"url wins over host and port", map[string]string{"DD_TRACE_AGENT_URL": agent.url(), "DD_AGENT_HOST": "192.0.2.1", "DD_TRACE_AGENT_PORT": "1"}, nil, ""},
		{"host and port", map[string]string{"DD_AGENT_HOST": host, "DD_TRACE_AGENT_PORT": port}, nil, ""},
		{"option wins over env", map[string]string{"DD_TRACE_AGENT_URL": down}, []datadog.Option{datadog.WithAgentURL(agent.url())}, ""},
		{"bad port", map[string]string{"DD_AGENT_HOST": host, "DD_TRACE_AGENT_PORT": "http"}, nil, "DD_TRACE_AGENT_PORT"},
		{"port out of range", map[string]string{"DD_TRACE_AGENT_PORT": "70000"}, nil, "DD_TRACE_AGENT_PORT"},
		{"bad host", map[string]string{"DD_AGENT_HOST": "a/b"}, nil, "DD_AGENT_HOST"},
		{"bad url scheme", map[string]string{"DD_TRACE_AGENT_URL": "ftp://x:1"}, nil, "DD_TRACE_AGENT_URL"},
		{"url without host", map[string]string{"DD_TRACE_AGENT_URL": "http://"}, nil, "DD_TRACE_AGENT_URL"},
		{"empty service", map[string]string{"DD_TRACE_AGENT_URL": agent.url(), "DD_SERVICE": " "}, nil, "DD_SERVICE"},
		{"empty variables are unset", map[string]string{"DD_TRACE_AGENT_URL": "", "DD_AGENT_HOST": host, "DD_TRACE_AGENT_PORT": port, "DD_SERVICE": ""}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT", "DD_SERVICE", "DD_ENV", "DD_VERSION"} {
				t.Setenv(k, "")
			}
			for _, k := range []string{"DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT", "DD_SERVICE"} {
				unsetenv(t, k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			t.Setenv("DD_ENV", "env-"+tc.name)
			opts := append([]datadog.Option{datadog.WithLogf(func(string, ...any) {})}, tc.opts...)
			l, err := datadog.FromEnv(opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FromEnv = %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			svc := newServiceWith(t, l)
			runTrace(svc, "env")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := l.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range agent.spans() {
				if s.Meta["env"] == "env-"+tc.name {
					found = true
				}
			}
			if !found {
				t.Errorf("no span with DD_ENV env-%s reached the agent", tc.name)
			}
		})
	}
}

// New checks every option and names the one at fault.
func TestNewNamesTheBadOption(t *testing.T) {
	for _, tc := range []struct {
		opt  datadog.Option
		want string
	}{
		{datadog.WithQueueSize(0), "WithQueueSize"},
		{datadog.WithBatchSize(-1), "WithBatchSize"},
		{datadog.WithFlushInterval(0), "WithFlushInterval"},
		{datadog.WithTimeout(-time.Second), "WithTimeout"},
		{datadog.WithService(""), "WithService"},
		{datadog.WithAgentURL("127.0.0.1:8126"), "WithAgentURL"},
		{datadog.WithAgentURL("http://127.0.0.1:99999"), "WithAgentURL"},
		{datadog.WithAgentURL("unix://"), "WithAgentURL"},
	} {
		l, err := datadog.New(tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "datadog: ") {
			t.Errorf("New(%s...) = %v, want an error naming %s", tc.want, err, tc.want)
		}
		if l != nil {
			t.Errorf("New(%s...) returned a layer with its error", tc.want)
		}
	}
	l, err := datadog.New(datadog.WithAgentURL("unix:///var/run/datadog/apm.socket"))
	if err != nil {
		t.Fatalf("a unix socket URL: %v", err)
	}
	_ = l.Shutdown(context.Background())
}
