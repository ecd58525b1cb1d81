package datadog

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

// The layer's defaults; see the options that change them.
const (
	// DefaultAgentURL is where the Datadog Agent's trace intake listens by default.
	DefaultAgentURL = "http://localhost:8126"
	// DefaultQueueSize is how many closed spans wait for the Agent at most.
	DefaultQueueSize = pipeline.DefaultQueueSize
	// DefaultBatchSize is how many spans one request to the Agent carries at most.
	DefaultBatchSize = pipeline.DefaultBatchSize
	// DefaultFlushInterval is the longest a span waits for a fuller batch.
	DefaultFlushInterval = time.Second
	// DefaultTimeout bounds one request to the Agent.
	DefaultTimeout = pipeline.DefaultSendTimeout
)

// The environment variables [FromEnv] reads, as Datadog's tracers do.
const (
	EnvAgentHost = "DD_AGENT_HOST"
	EnvAgentPort = "DD_TRACE_AGENT_PORT"
	EnvAgentURL  = "DD_TRACE_AGENT_URL" // wins over DD_AGENT_HOST and DD_TRACE_AGENT_PORT
	EnvService   = "DD_SERVICE"
	EnvEnv       = "DD_ENV"
	EnvVersion   = "DD_VERSION"
)

// Option configures a [Layer]; see [New].
type Option func(*config)

// setting is one configured value and where it came from, for error messages.
type setting[T any] struct {
	v    T
	from string // "WithService", "DD_SERVICE", ...; "" when not set
}

func (s *setting[T]) set(v T, from string) { s.v, s.from = v, from }

type config struct {
	agentURL, service, env, version setting[string]
	queueSize, batchSize            setting[int]
	flushInterval, timeout          setting[time.Duration]
	logf                            func(format string, args ...any)
	errs                            []error

	// resolved
	endpoint   string // the trace endpoint's URL
	socketPath string // a unix socket to dial instead of the URL's host, or ""
}

// WithAgentURL sets the Agent's trace intake: "http://host:port" (default
// [DefaultAgentURL]) or "unix:///path/to/apm.socket". The layer sends to
// <url>/v0.4/traces.
func WithAgentURL(u string) Option {
	return func(c *config) { c.agentURL.set(u, "WithAgentURL") }
}

// WithService sets the service the spans belong to (default: the executable's file
// name).
func WithService(name string) Option {
	return func(c *config) { c.service.set(name, "WithService") }
}

// WithEnv sets the environment ("prod", "staging"), written as the env tag of every
// span and used to pick the Agent's sampling rate. Default: none.
func WithEnv(env string) Option {
	return func(c *config) { c.env.set(env, "WithEnv") }
}

// WithVersion sets the application's version, written as the version tag of every span.
// Default: none.
func WithVersion(v string) Option {
	return func(c *config) { c.version.set(v, "WithVersion") }
}

// WithQueueSize sets how many closed spans wait for the Agent at most (default
// [DefaultQueueSize]); beyond it they are dropped and counted. n must be positive.
func WithQueueSize(n int) Option {
	return func(c *config) { c.queueSize.set(n, "WithQueueSize") }
}

// WithBatchSize sets how many spans one request to the Agent carries at most (default
// [DefaultBatchSize]). n must be positive.
func WithBatchSize(n int) Option {
	return func(c *config) { c.batchSize.set(n, "WithBatchSize") }
}

// WithFlushInterval sets the longest a closed span waits for a fuller batch before it is
// sent (default [DefaultFlushInterval]). d must be positive.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flushInterval.set(d, "WithFlushInterval") }
}

// WithTimeout bounds one request to the Agent (default [DefaultTimeout]). d must be
// positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout.set(d, "WithTimeout") }
}

// WithLogf sets where the layer reports its own errors (an Agent that cannot be reached
// or refuses payloads), at most one line per kind every 30s. Default: the standard log
// package, to stderr.
func WithLogf(f func(format string, args ...any)) Option {
	return func(c *config) { c.logf = f }
}

// fromEnv fills c from the environment, for FromEnv; explicit options applied later
// override these values.
func (c *config) fromEnv() {
	// An empty variable counts as unset, as Datadog's tracers read them.
	lookup := func(name string) (string, bool) {
		v := os.Getenv(name)
		return v, v != ""
	}
	str := func(s *setting[string], name string) {
		if v, ok := lookup(name); ok {
			s.set(v, name)
		}
	}
	str(&c.service, EnvService)
	str(&c.env, EnvEnv)
	str(&c.version, EnvVersion)
	if v, ok := lookup(EnvAgentURL); ok {
		c.agentURL.set(v, EnvAgentURL)
		return
	}
	host, hasHost := lookup(EnvAgentHost)
	port, hasPort := lookup(EnvAgentPort)
	if !hasHost && !hasPort {
		return
	}
	if !hasHost {
		host = "localhost"
	}
	if strings.TrimSpace(host) == "" || strings.ContainsAny(host, "/ ") {
		c.errs = append(c.errs, fmt.Errorf("datadog: %s=%q: want a host name or address", EnvAgentHost, host))
		return
	}
	if !hasPort {
		port = "8126"
	}
	if p, err := strconv.Atoi(strings.TrimSpace(port)); err != nil || p < 1 || p > 65535 {
		c.errs = append(c.errs, fmt.Errorf("datadog: %s=%q: want a port number from 1 to 65535", EnvAgentPort, port))
		return
	}
	from := EnvAgentHost
	if !hasHost {
		from = EnvAgentPort
	}
	c.agentURL.set("http://"+net.JoinHostPort(strings.TrimSpace(host), strings.TrimSpace(port)), from)
}

// resolve applies defaults and checks every value, returning the first problem with
// the option or variable that caused it.
func (c *config) resolve() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if c.agentURL.from == "" {
		c.agentURL.v = DefaultAgentURL
	}
	if err := c.parseURL(); err != nil {
		return fmt.Errorf("datadog: %s=%q: %w", orDefault(c.agentURL.from), c.agentURL.v, err)
	}
	if c.service.from == "" {
		c.service.v = defaultService()
	} else if strings.TrimSpace(c.service.v) == "" {
		return fmt.Errorf("datadog: %s: empty service name", c.service.from)
	}
	for _, s := range []struct {
		s   *setting[int]
		def int
	}{{&c.queueSize, DefaultQueueSize}, {&c.batchSize, DefaultBatchSize}} {
		if s.s.from == "" {
			s.s.v = s.def
		} else if s.s.v <= 0 {
			return fmt.Errorf("datadog: %s(%d): must be positive", s.s.from, s.s.v)
		}
	}
	for _, s := range []struct {
		s   *setting[time.Duration]
		def time.Duration
	}{{&c.flushInterval, DefaultFlushInterval}, {&c.timeout, DefaultTimeout}} {
		if s.s.from == "" {
			s.s.v = s.def
		} else if s.s.v <= 0 {
			return fmt.Errorf("datadog: %s(%v): must be positive", s.s.from, s.s.v)
		}
	}
	return nil
}

func orDefault(from string) string {
	if from == "" {
		return "default agent URL"
	}
	return from
}

// parseURL checks the agent URL and sets the endpoint (and socket path for unix://).
func (c *config) parseURL() error {
	raw := strings.TrimSpace(c.agentURL.v)
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("want http://host:port or unix:///path: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || u.Hostname() == "" {
			return fmt.Errorf("want http://host:port or unix:///path: no host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("port %q is not a number from 1 to 65535", p)
			}
		}
		c.endpoint = strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/") + "/v0.4/traces"
	case "unix":
		if u.Path == "" {
			return fmt.Errorf("want unix:///path/to/socket: no path")
		}
		c.socketPath = u.Path
		c.endpoint = "http://datadog-agent/v0.4/traces"
	default:
		return fmt.Errorf("scheme %q: want http://host:port or unix:///path", u.Scheme)
	}
	return nil
}

// defaultService is the executable's file name, or "go-service" when it is unknown.
func defaultService() string {
	exe, err := os.Executable()
	if err != nil || exe == "" {
		return "go-service"
	}
	name := strings.TrimSuffix(filepath.Base(exe), ".exe")
	if name == "" || name == "." || name == string(filepath.Separator) {
		return "go-service"
	}
	return name
}
