package otlp

import (
	"crypto/tls"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"
)

// otelVars are the variables FromEnv reads; each test starts with none of them set.
var otelVars = []string{
	EnvEndpoint, EnvTracesEndpoint, EnvHeaders, EnvTracesHeaders, EnvProtocol, EnvTracesProtocol,
	EnvCompression, EnvTracesCompression, EnvInsecure, EnvTracesInsecure, EnvTimeout, EnvTracesTimeout,
	EnvServiceName, EnvResourceAttrs,
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range otelVars {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
}

func resolveEnv(t *testing.T, env map[string]string, opts ...Option) (*resolved, error) {
	t.Helper()
	clearEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c config
	c.fromEnv()
	for _, o := range opts {
		o(&c)
	}
	return c.resolve()
}

func TestFromEnvReadsTheSpecificationsVariables(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		opts []Option
		// want
		protocol, target string
		plaintext, gzip  bool
		headers          map[string]string
		service          string
		timeout          time.Duration
	}{
		{name: "nothing: the specification's default", protocol: ProtocolGRPC, target: "localhost:4317", plaintext: true, timeout: DefaultTimeout},
		{name: "http default", env: map[string]string{EnvProtocol: "http/protobuf"},
			protocol: ProtocolHTTPProtobuf, target: "http://localhost:4318/v1/traces", plaintext: true, timeout: DefaultTimeout},
		{name: "grpc url", env: map[string]string{EnvEndpoint: "http://collector:4317"},
			protocol: ProtocolGRPC, target: "collector:4317", plaintext: true, timeout: DefaultTimeout},
		{name: "grpc https url", env: map[string]string{EnvEndpoint: "https://collector:4317/"},
			protocol: ProtocolGRPC, target: "collector:4317", timeout: DefaultTimeout},
		{name: "grpc host:port is TLS", env: map[string]string{EnvEndpoint: "collector:4317"},
			protocol: ProtocolGRPC, target: "collector:4317", timeout: DefaultTimeout},
		{name: "grpc host:port insecure", env: map[string]string{EnvEndpoint: "collector:4317", EnvInsecure: "TRUE"},
			protocol: ProtocolGRPC, target: "collector:4317", plaintext: true, timeout: DefaultTimeout},
		{name: "http base gets /v1/traces", env: map[string]string{EnvEndpoint: "http://collector:4318", EnvProtocol: "http/protobuf"},
			protocol: ProtocolHTTPProtobuf, target: "http://collector:4318/v1/traces", plaintext: true, timeout: DefaultTimeout},
		{name: "http base with a path", env: map[string]string{EnvEndpoint: "https://gw.example.com/otlp/", EnvProtocol: "http/protobuf"},
			protocol: ProtocolHTTPProtobuf, target: "https://gw.example.com:443/otlp/v1/traces", timeout: DefaultTimeout},
		{name: "traces endpoint as is", env: map[string]string{EnvEndpoint: "http://a:4318", EnvTracesEndpoint: "http://b:4318/custom", EnvTracesProtocol: "http/protobuf"},
			protocol: ProtocolHTTPProtobuf, target: "http://b:4318/custom", plaintext: true, timeout: DefaultTimeout},
		{name: "traces protocol wins", env: map[string]string{EnvProtocol: "http/protobuf", EnvTracesProtocol: "grpc"},
			protocol: ProtocolGRPC, target: "localhost:4317", plaintext: true, timeout: DefaultTimeout},
		{name: "headers, compression, timeout, service", env: map[string]string{
			EnvHeaders: "api-key=a%20b%3Dc, x-tenant = songs ,", EnvCompression: "gzip", EnvTimeout: "2500", EnvServiceName: "songs"},
			protocol: ProtocolGRPC, target: "localhost:4317", plaintext: true, gzip: true,
			headers: map[string]string{"api-key": "a b=c", "x-tenant": "songs"}, service: "songs", timeout: 2500 * time.Millisecond},
		{name: "traces headers replace", env: map[string]string{EnvHeaders: "a=1", EnvTracesHeaders: "b=2"},
			protocol: ProtocolGRPC, target: "localhost:4317", plaintext: true, headers: map[string]string{"b": "2"}, timeout: DefaultTimeout},
		{name: "options win", env: map[string]string{EnvEndpoint: "http://env:4317", EnvServiceName: "env", EnvCompression: "gzip", EnvHeaders: "a=1"},
			opts:     []Option{WithEndpoint("127.0.0.1:9999"), WithInsecure(), WithService("opt"), WithCompression("none"), WithHeaders(map[string]string{"b": "2"}), WithTimeout(time.Second)},
			protocol: ProtocolGRPC, target: "127.0.0.1:9999", plaintext: true, headers: map[string]string{"b": "2"}, service: "opt", timeout: time.Second},
		{name: "option endpoint with a path over http", opts: []Option{WithProtocol("http/protobuf"), WithEndpoint("http://127.0.0.1:4318/api/traces")},
			protocol: ProtocolHTTPProtobuf, target: "http://127.0.0.1:4318/api/traces", plaintext: true, timeout: DefaultTimeout},
		{name: "option endpoint host:port over http, insecure", opts: []Option{WithProtocol("http/protobuf"), WithEndpoint("127.0.0.1:4318"), WithInsecure()},
			protocol: ProtocolHTTPProtobuf, target: "http://127.0.0.1:4318/v1/traces", plaintext: true, timeout: DefaultTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := resolveEnv(t, c.env, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if r.protocol != c.protocol || r.target != c.target || r.plaintext != c.plaintext || r.gzip != c.gzip || r.pipe.SendTimeout != c.timeout {
				t.Errorf("got %s %s plaintext=%v gzip=%v timeout=%v, want %s %s plaintext=%v gzip=%v timeout=%v",
					r.protocol, r.target, r.plaintext, r.gzip, r.pipe.SendTimeout, c.protocol, c.target, c.plaintext, c.gzip, c.timeout)
			}
			if (r.tls == nil) != c.plaintext {
				t.Errorf("tls %v with plaintext %v", r.tls, c.plaintext)
			}
			if len(r.headers)+len(c.headers) > 0 && !maps.Equal(r.headers, c.headers) {
				t.Errorf("headers %v, want %v", r.headers, c.headers)
			}
			if c.service != "" && r.service != c.service {
				t.Errorf("service %q, want %q", r.service, c.service)
			}
		})
	}
}

func TestResourceComesFromTheEnvironmentAndOptions(t *testing.T) {
	r, err := resolveEnv(t, map[string]string{
		EnvResourceAttrs: "service.name=from-attrs,deployment.environment.name=prod,team=a%2Cb",
	}, WithResource(slog.String("team", "c"), slog.Int("shard", 2)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var keys []string
	for _, a := range r.resource {
		got[a.Key] = a.Value.String()
		keys = append(keys, a.Key)
	}
	want := map[string]string{
		"service.name": "from-attrs", "telemetry.sdk.name": "strata", "telemetry.sdk.language": "go",
		"telemetry.sdk.version": SDKVersion, "deployment.environment.name": "prod", "team": "c", "shard": "2",
	}
	if !maps.Equal(got, want) || len(keys) != len(want) {
		t.Errorf("resource %v (keys %v), want %v", got, keys, want)
	}

	// OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
	r, err = resolveEnv(t, map[string]string{EnvResourceAttrs: "service.name=a", EnvServiceName: "b"})
	if err != nil || r.service != "b" {
		t.Errorf("service %q, %v: want b", r.service, err)
	}
	// No name at all: unknown_service:<executable>.
	r, err = resolveEnv(t, nil)
	if err != nil || !strings.HasPrefix(r.service, "unknown_service") {
		t.Errorf("service %q, %v: want unknown_service:...", r.service, err)
	}
}

func TestMalformedVariablesAreErrorsNamingThem(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvProtocol: "thrift"}, EnvProtocol},
		{map[string]string{EnvTracesProtocol: "http/json"}, "http/json is not supported"},
		{map[string]string{EnvCompression: "zstd"}, EnvCompression},
		{map[string]string{EnvInsecure: "yes"}, EnvInsecure},
		{map[string]string{EnvTracesInsecure: "1"}, EnvTracesInsecure},
		{map[string]string{EnvTimeout: "10s"}, EnvTimeout},
		{map[string]string{EnvTimeout: "0"}, EnvTimeout},
		{map[string]string{EnvHeaders: "novalue"}, EnvHeaders},
		{map[string]string{EnvTracesHeaders: "=v"}, EnvTracesHeaders},
		{map[string]string{EnvHeaders: "k=%zz"}, EnvHeaders},
		{map[string]string{EnvHeaders: "bad key=v"}, EnvHeaders},
		{map[string]string{EnvHeaders: "k=a%0Ab"}, EnvHeaders},
		{map[string]string{EnvResourceAttrs: "a=1,b"}, EnvResourceAttrs},
		{map[string]string{EnvEndpoint: "collector"}, EnvEndpoint},
		{map[string]string{EnvEndpoint: "ftp://collector:21"}, EnvEndpoint},
		{map[string]string{EnvTracesEndpoint: "http://collector:99999"}, EnvTracesEndpoint},
		{map[string]string{EnvEndpoint: "http://:4317"}, EnvEndpoint},
		{map[string]string{EnvEndpoint: "http://collector:4317/v1/traces"}, "gRPC endpoint has no path"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			l, err := FromEnv(WithLogf(func(string, ...any) {}))
			if err == nil {
				_ = l.Shutdown(t.Context())
				t.Fatalf("%v: no error", c.env)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "otlp: ") {
				t.Errorf("%v: %v, want it to name %s", c.env, err, c.want)
			}
		})
	}
}

func TestNewRejectsBadOptionsNamingThem(t *testing.T) {
	cases := []struct {
		opts []Option
		want string
	}{
		{[]Option{WithEndpoint("")}, "WithEndpoint: empty endpoint"},
		{[]Option{WithEndpoint("no-port")}, "WithEndpoint"},
		{[]Option{WithEndpoint("http://h:4317?x=1")}, "WithEndpoint"},
		{[]Option{WithProtocol("udp")}, "WithProtocol"},
		{[]Option{WithCompression("br")}, "WithCompression"},
		{[]Option{WithHeaders(map[string]string{"": "v"})}, "WithHeaders"},
		{[]Option{WithHeaders(map[string]string{"k": "a\nb"})}, "WithHeaders"},
		{[]Option{WithService(" ")}, "WithService"},
		{[]Option{WithResource(slog.String("", "v"))}, "WithResource"},
		{[]Option{WithQueueSize(0)}, "WithQueueSize"},
		{[]Option{WithBatchSize(-1)}, "WithBatchSize"},
		{[]Option{WithFlushInterval(0)}, "WithFlushInterval"},
		{[]Option{WithTimeout(-time.Second)}, "WithTimeout"},
		{[]Option{WithTLS(nil)}, "WithTLS"},
		{[]Option{WithEndpoint("h:4317"), WithInsecure(), WithTLS(&tls.Config{})}, "WithTLS and WithInsecure"},
		{[]Option{WithEndpoint("http://h:4317"), WithTLS(&tls.Config{})}, "WithTLS with WithEndpoint"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			l, err := New(c.opts...)
			if err == nil {
				_ = l.Shutdown(t.Context())
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want it to name %s", err, c.want)
			}
		})
	}
}

// New does not connect: a collector that is down costs nothing until spans are sent.
func TestNewDoesNotWaitForTheCollector(t *testing.T) {
	l, err := New(WithEndpoint("127.0.0.1:1"), WithInsecure(), WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Shutdown(t.Context()); err != nil {
		t.Errorf("shutdown with nothing queued: %v", err)
	}
}
