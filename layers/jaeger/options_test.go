package jaeger

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

var envNames = []string{EnvAgentHost, EnvAgentPort, EnvServiceName, EnvResourceAttributes, EnvJaegerAgentHost,
	EnvJaegerAgentPort, EnvJaegerServiceName, EnvJaegerTags, EnvJaegerQueueSize, EnvJaegerFlush}

// setEnv sets exactly the variables of env, unsetting the layer's others, until the
// test ends.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range envNames {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func processTag(p *jaeger.Process, key string) string {
	if tg := tag(p.Tags, key); tg != nil {
		return tagText(tg)
	}
	return "<none>"
}

func TestFromEnvReadsTheVariables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		opts    []Option
		addr    string
		service string
		tags    map[string]string
		queue   int
		flush   time.Duration
	}{
		{name: "defaults", addr: DefaultAgent, service: defaultService(), queue: DefaultQueueSize, flush: DefaultFlushInterval},
		{name: "otel names", env: map[string]string{EnvAgentHost: "127.0.0.1", EnvAgentPort: "6832", EnvServiceName: "songs"},
			addr: "127.0.0.1:6832", service: "songs"},
		{name: "otel win over jaeger names", env: map[string]string{EnvAgentHost: "127.0.0.1", EnvJaegerAgentHost: "127.0.0.2",
			EnvJaegerAgentPort: "7000", EnvServiceName: "otel", EnvJaegerServiceName: "jaeger"}, addr: "127.0.0.1:7000", service: "otel"},
		{name: "jaeger names", env: map[string]string{EnvJaegerAgentHost: "127.0.0.1", EnvJaegerServiceName: "old",
			EnvJaegerTags: "team=core, zone=a", EnvJaegerQueueSize: "77", EnvJaegerFlush: "2s"},
			addr: "127.0.0.1:6831", service: "old", tags: map[string]string{"team": "core", "zone": "a"}, queue: 77, flush: 2 * time.Second},
		{name: "port alone", env: map[string]string{EnvAgentPort: "7001"}, addr: "localhost:7001"},
		{name: "resource attributes", env: map[string]string{EnvResourceAttributes: "service.name=res,deployment.environment=prod,note=a%20b"},
			addr: DefaultAgent, service: "res", tags: map[string]string{"deployment.environment": "prod", "note": "a b", "service.name": "<none>"}},
		{name: "OTEL_SERVICE_NAME wins over service.name", env: map[string]string{EnvResourceAttributes: "service.name=res", EnvServiceName: "svc"},
			addr: DefaultAgent, service: "svc"},
		{name: "options win", env: map[string]string{EnvAgentHost: "127.0.0.2", EnvServiceName: "env", EnvJaegerTags: "team=env"},
			opts: []Option{WithAgent("127.0.0.1:9999"), WithService("opt"), WithTags(slog.String("team", "opt"), slog.String("hostname", "h1"))},
			addr: "127.0.0.1:9999", service: "opt", tags: map[string]string{"team": "opt", "hostname": "h1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			jl, err := FromEnv(append(tc.opts, WithLogf(quiet))...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = shutdown(t, jl) })
			if jl.addr != tc.addr {
				t.Errorf("agent %q, want %q", jl.addr, tc.addr)
			}
			if tc.service != "" && jl.w.process.ServiceName != tc.service {
				t.Errorf("service %q, want %q", jl.w.process.ServiceName, tc.service)
			}
			for k, v := range tc.tags {
				if got := processTag(jl.w.process, k); got != v {
					t.Errorf("process tag %s = %s, want %s", k, got, v)
				}
			}
			seen := map[string]bool{}
			for _, tg := range jl.w.process.Tags {
				if seen[tg.Key] {
					t.Errorf("process tag %s twice", tg.Key)
				}
				seen[tg.Key] = true
			}
			if !strings.HasPrefix(processTag(jl.w.process, "jaeger.version"), "Go-strata-") {
				t.Errorf("jaeger.version = %s", processTag(jl.w.process, "jaeger.version"))
			}
			if tc.queue != 0 && jl.cfg.queueSize.v != tc.queue {
				t.Errorf("queue size %d, want %d", jl.cfg.queueSize.v, tc.queue)
			}
			if tc.flush != 0 && jl.cfg.flush.v != tc.flush {
				t.Errorf("flush interval %v, want %v", jl.cfg.flush.v, tc.flush)
			}
		})
	}
}

func TestMalformedVariablesAreNamed(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvAgentPort: "68x"}, EnvAgentPort},
		{map[string]string{EnvAgentPort: "70000"}, EnvAgentPort},
		{map[string]string{EnvJaegerAgentPort: "0"}, EnvJaegerAgentPort},
		{map[string]string{EnvAgentHost: " "}, EnvAgentHost},
		{map[string]string{EnvServiceName: ""}, EnvServiceName},
		{map[string]string{EnvResourceAttributes: "novalue"}, EnvResourceAttributes},
		{map[string]string{EnvResourceAttributes: "=v"}, EnvResourceAttributes},
		{map[string]string{EnvResourceAttributes: "k=%zz"}, EnvResourceAttributes},
		{map[string]string{EnvJaegerTags: "a=b,c"}, EnvJaegerTags},
		{map[string]string{EnvJaegerQueueSize: "-1"}, EnvJaegerQueueSize},
		{map[string]string{EnvJaegerFlush: "soon"}, EnvJaegerFlush},
	} {
		setEnv(t, tc.env)
		jl, err := FromEnv()
		if err == nil {
			_ = shutdown(t, jl)
			t.Errorf("%v: no error", tc.env)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %q does not name %s", tc.env, err, tc.want)
		}
	}
}

func TestNewErrorsNameTheOption(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{[]Option{WithAgent("127.0.0.1")}, "WithAgent"},
		{[]Option{WithAgent("udp://127.0.0.1:6831")}, "WithAgent"},
		{[]Option{WithAgent(":6831")}, "WithAgent"},
		{[]Option{WithAgent("127.0.0.1:0")}, "WithAgent"},
		{[]Option{WithAgent("no-such-host.invalid:6831")}, "WithAgent"},
		{[]Option{WithService(" ")}, "WithService"},
		{[]Option{WithMaxPacketSize(100)}, "WithMaxPacketSize"},
		{[]Option{WithMaxPacketSize(70000)}, "WithMaxPacketSize"},
		{[]Option{WithMaxPacketSize(600), WithTags(slog.String("big", strings.Repeat("x", 500)))}, "WithMaxPacketSize"},
		{[]Option{WithQueueSize(0)}, "WithQueueSize"},
		{[]Option{WithBatchSize(-1)}, "WithBatchSize"},
		{[]Option{WithFlushInterval(0)}, "WithFlushInterval"},
		{[]Option{WithTags(slog.String("", "v"))}, "WithTags"},
	} {
		jl, err := New(append(tc.opts, WithLogf(quiet))...)
		if err == nil {
			_ = shutdown(t, jl)
			t.Errorf("%s: no error", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "jaeger: ") {
			t.Errorf("error %q, want one naming %s", err, tc.want)
		}
	}
}
