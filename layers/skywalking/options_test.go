package skywalking

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bad configuration is an error from the constructor that names the option or the
// variable; never a panic, never a silent default.
func TestBadConfigurationIsAClearError(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		opts []Option
		want string
	}{
		{"no collector", nil, nil, "no WithCollector option and no SW_AGENT_COLLECTOR_BACKEND_SERVICES"},
		{"empty collector var", map[string]string{EnvCollector: ""}, nil, "SW_AGENT_COLLECTOR_BACKEND_SERVICES: no collector address"},
		{"bad address", nil, []Option{WithCollector("oap")}, `WithCollector="oap"`},
		{"bad port", nil, []Option{WithCollector("oap:99999")}, "port \"99999\""},
		{"scheme", nil, []Option{WithCollector("grpc://oap:11800")}, "without a scheme"},
		{"empty host", nil, []Option{WithCollector(":11800")}, "empty host"},
		{"bad list entry", map[string]string{EnvCollector: "oap:11800,oap2"}, nil, `"oap2"`},
		{"empty service", nil, []Option{WithCollector("oap:11800"), WithService(" ")}, "WithService: empty service name"},
		{"empty service var", map[string]string{EnvService: "", EnvCollector: "oap:11800"}, nil, "SW_AGENT_NAME: empty service name"},
		{"heartbeat var", map[string]string{EnvCollector: "oap:11800", EnvHeartbeat: "30s"}, nil, `SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD="30s"`},
		{"heartbeat zero", nil, []Option{WithCollector("oap:11800"), WithHeartbeat(0)}, "WithHeartbeat(0s)"},
		{"linger", nil, []Option{WithCollector("oap:11800"), WithLinger(-time.Second)}, "WithLinger(-1s)"},
		{"queue", nil, []Option{WithCollector("oap:11800"), WithQueueSize(0)}, "WithQueueSize(0)"},
		{"open segments", nil, []Option{WithCollector("oap:11800"), WithMaxOpenSegments(-1)}, "WithMaxOpenSegments(-1)"},
		{"component", nil, []Option{WithCollector("oap:11800"), WithComponent("mysql", 5012)}, `WithComponent("mysql", 5012)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{EnvService, EnvInstance, EnvCollector, EnvAuthentication, EnvHeartbeat, EnvLayer} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			l, err := FromEnv(c.opts...)
			if err == nil {
				_ = l.Shutdown(context.Background())
				t.Fatalf("FromEnv succeeded, want an error with %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "skywalking: ") {
				t.Errorf("error %q, want one that starts with skywalking: and says %q", err, c.want)
			}
		})
	}
}

// FromEnv reads the SkyWalking agents' variables, explicit options win over them, and
// the defaults are the executable's name and pid@hostname.
func TestFromEnvAndDefaults(t *testing.T) {
	t.Setenv(EnvService, "from-env")
	t.Setenv(EnvInstance, "env-instance")
	t.Setenv(EnvCollector, "127.0.0.1:11800")
	t.Setenv(EnvHeartbeat, "7")
	var c config
	c.fromEnv()
	WithInstance("explicit")(&c)
	c.rep = newFakeReporter()
	if err := c.resolve(); err != nil {
		t.Fatal(err)
	}
	if c.service.v != "from-env" || c.instance.v != "explicit" || c.heartbeat.v != 7*time.Second || c.address.v != "127.0.0.1:11800" {
		t.Errorf("config %+v", c)
	}

	var d config
	d.rep = newFakeReporter()
	if err := d.resolve(); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	host, _ := os.Hostname()
	if want := strings.TrimSuffix(filepath.Base(exe), ".exe"); d.service.v != want {
		t.Errorf("default service %q, want the executable's name %q", d.service.v, want)
	}
	if !strings.HasSuffix(d.instance.v, "@"+host) {
		t.Errorf("default instance %q, want pid@%s", d.instance.v, host)
	}
	if d.linger.v != DefaultLinger || d.heartbeat.v != DefaultHeartbeat || d.maxOpen.v != DefaultMaxOpenSegments {
		t.Errorf("defaults %+v", d)
	}
}
