package jaeger

import (
	"fmt"
	"log/slog"
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
	// DefaultAgent is where the Jaeger agent (or an OpenTelemetry Collector's jaeger
	// receiver with thrift_compact) listens for Thrift compact emitBatch datagrams.
	DefaultAgent = "localhost:6831"
	// DefaultMaxPacketSize is the largest datagram the layer writes, as in the Jaeger
	// clients: the agent reads at most 65000 bytes per datagram by default.
	DefaultMaxPacketSize = 65000
	// MaxUDPPayload is the largest UDP payload over IPv4; WithMaxPacketSize cannot
	// exceed it.
	MaxUDPPayload = 65507
	// MinPacketSize is the smallest WithMaxPacketSize accepted.
	MinPacketSize = 512
	// DefaultQueueSize is how many closed spans wait for the agent at most.
	DefaultQueueSize = pipeline.DefaultQueueSize
	// DefaultBatchSize is how many spans one send takes at most (it may write
	// several datagrams).
	DefaultBatchSize = pipeline.DefaultBatchSize
	// DefaultFlushInterval is the longest a span waits for a fuller batch.
	DefaultFlushInterval = pipeline.DefaultFlushInterval
)

// The environment variables [FromEnv] reads. The OTEL_* names are the OpenTelemetry
// specification's for the Jaeger exporter; the JAEGER_* names are those of the
// jaeger-client-go library, read with lower precedence.
const (
	EnvAgentHost          = "OTEL_EXPORTER_JAEGER_AGENT_HOST"
	EnvAgentPort          = "OTEL_EXPORTER_JAEGER_AGENT_PORT"
	EnvServiceName        = "OTEL_SERVICE_NAME"
	EnvResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	EnvJaegerAgentHost    = "JAEGER_AGENT_HOST"
	EnvJaegerAgentPort    = "JAEGER_AGENT_PORT"
	EnvJaegerServiceName  = "JAEGER_SERVICE_NAME"
	EnvJaegerTags         = "JAEGER_TAGS"
	EnvJaegerQueueSize    = "JAEGER_REPORTER_MAX_QUEUE_SIZE"
	EnvJaegerFlush        = "JAEGER_REPORTER_FLUSH_INTERVAL"
)

// Option configures a [Layer]; see [New].
type Option func(*config)

// setting is one configured value and where it came from, for error messages.
type setting[T any] struct {
	v    T
	from string // "WithService", "OTEL_SERVICE_NAME", ...; "" when not set
}

func (s *setting[T]) set(v T, from string) { s.v, s.from = v, from }

// tagSetting is a process tag and where it came from.
type tagSetting struct {
	attr slog.Attr
	from string
}

type config struct {
	agent, service                  setting[string]
	maxPacket, queueSize, batchSize setting[int]
	flush                           setting[time.Duration]
	tags                            []tagSetting
	logf                            func(format string, args ...any)
	errs                            []error
}

// WithAgent sets the host:port of the Jaeger agent's compact Thrift UDP port (default
// [DefaultAgent]). The host is resolved once, by [New]: a name that does not resolve
// is New's error.
func WithAgent(hostport string) Option {
	return func(c *config) { c.agent.set(hostport, "WithAgent") }
}

// WithService sets the Process's service name (default: the executable's file name).
func WithService(name string) Option {
	return func(c *config) { c.service.set(name, "WithService") }
}

// WithTags adds tags to the Process, typed like span tags (a later tag with the same
// key replaces an earlier one, the predefined hostname, ip and jaeger.version
// included). Values of kind Any are written as their text.
func WithTags(attrs ...slog.Attr) Option {
	return func(c *config) {
		for _, a := range attrs {
			if a.Key == "" {
				c.errs = append(c.errs, fmt.Errorf("jaeger: WithTags: a tag with an empty key"))
				continue
			}
			c.tags = append(c.tags, tagSetting{attr: a, from: "WithTags"})
		}
	}
}

// WithMaxPacketSize sets the largest datagram the layer writes (default
// [DefaultMaxPacketSize]), from [MinPacketSize] to [MaxUDPPayload]. It must not exceed
// what the agent reads (the Jaeger agent's and the collector receiver's
// max_packet_size, 65000 by default): a longer datagram is cut by the agent and lost.
func WithMaxPacketSize(n int) Option {
	return func(c *config) { c.maxPacket.set(n, "WithMaxPacketSize") }
}

// WithQueueSize sets how many closed spans wait for the agent at most (default
// [DefaultQueueSize]); beyond it they are dropped and counted. n must be positive.
func WithQueueSize(n int) Option {
	return func(c *config) { c.queueSize.set(n, "WithQueueSize") }
}

// WithBatchSize sets how many spans one send takes at most (default
// [DefaultBatchSize]); they go out in as many datagrams as they need. n must be
// positive.
func WithBatchSize(n int) Option {
	return func(c *config) { c.batchSize.set(n, "WithBatchSize") }
}

// WithFlushInterval sets the longest a closed span waits for a fuller batch (default
// [DefaultFlushInterval]). d must be positive.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flush.set(d, "WithFlushInterval") }
}

// WithLogf sets where the layer reports its own errors (an agent that cannot be
// reached, spans too large to send), rate-limited to one line per kind every 30s.
// Default: the standard log package, to stderr.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// fromEnv fills c from the environment, for FromEnv; explicit options applied later
// override these values.
func (c *config) fromEnv() {
	host, hostFrom := lookup(EnvAgentHost, EnvJaegerAgentHost)
	port, portFrom := lookup(EnvAgentPort, EnvJaegerAgentPort)
	if hostFrom != "" || portFrom != "" {
		from := hostFrom
		if portFrom != "" {
			if p, err := strconv.Atoi(strings.TrimSpace(port)); err != nil || p < 1 || p > 65535 {
				c.errs = append(c.errs, fmt.Errorf("jaeger: %s=%q: want a port number from 1 to 65535", portFrom, port))
				return
			}
			port = strings.TrimSpace(port)
			if from == "" {
				from = portFrom
			} else {
				from += " and " + portFrom
			}
		} else {
			port = "6831"
		}
		host = strings.TrimSpace(host)
		if hostFrom == "" {
			host = "localhost"
		} else if host == "" {
			c.errs = append(c.errs, fmt.Errorf("jaeger: %s is set but empty: want a host name or address", hostFrom))
			return
		}
		c.agent.set(net.JoinHostPort(host, port), from)
	}

	if v, ok := os.LookupEnv(EnvResourceAttributes); ok {
		attrs, err := parseResourceAttributes(v)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("jaeger: %s=%q: %w", EnvResourceAttributes, v, err))
			return
		}
		for _, a := range attrs {
			if a.Key == "service.name" {
				c.service.set(a.Value.String(), EnvResourceAttributes)
				continue
			}
			c.tags = append(c.tags, tagSetting{attr: a, from: EnvResourceAttributes})
		}
	}
	if v, ok := os.LookupEnv(EnvJaegerTags); ok {
		attrs, err := parseJaegerTags(v)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("jaeger: %s=%q: %w", EnvJaegerTags, v, err))
			return
		}
		for _, a := range attrs {
			c.tags = append(c.tags, tagSetting{attr: a, from: EnvJaegerTags})
		}
	}
	// OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, which wins
	// over JAEGER_SERVICE_NAME.
	if v, ok := os.LookupEnv(EnvServiceName); ok {
		c.service.set(v, EnvServiceName)
	} else if v, ok := os.LookupEnv(EnvJaegerServiceName); ok && c.service.from == "" {
		c.service.set(v, EnvJaegerServiceName)
	}
	if v, ok := os.LookupEnv(EnvJaegerQueueSize); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("jaeger: %s=%q: want a whole number above 0", EnvJaegerQueueSize, v))
			return
		}
		c.queueSize.set(n, EnvJaegerQueueSize)
	}
	if v, ok := os.LookupEnv(EnvJaegerFlush); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("jaeger: %s=%q: want a positive duration such as 1s or 500ms", EnvJaegerFlush, v))
			return
		}
		c.flush.set(d, EnvJaegerFlush)
	}
}

// lookup returns the first of the variables that is set, and its name.
func lookup(names ...string) (value, from string) {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			return v, n
		}
	}
	return "", ""
}

// parseResourceAttributes reads OTEL_RESOURCE_ATTRIBUTES: key=value pairs separated by
// commas, values percent-encoded (the W3C Baggage format the specification names).
func parseResourceAttributes(s string) ([]slog.Attr, error) {
	var out []slog.Attr
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", pair)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q: bad percent-encoding: %w", pair, err)
		}
		out = append(out, slog.String(k, val))
	}
	return out, nil
}

// parseJaegerTags reads JAEGER_TAGS: key=value pairs separated by commas.
func parseJaegerTags(s string) ([]slog.Attr, error) {
	var out []slog.Attr
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", pair)
		}
		out = append(out, slog.String(k, strings.TrimSpace(v)))
	}
	return out, nil
}

// resolve applies defaults and checks every value, returning the first problem with
// the option or variable that caused it.
func (c *config) resolve() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if c.agent.from == "" {
		c.agent.v = DefaultAgent
	}
	if err := checkAddress(c.agent.v); err != nil {
		return fmt.Errorf("jaeger: %s(%q): %w", orDefault(c.agent.from), c.agent.v, err)
	}
	if c.service.from == "" {
		c.service.v = defaultService()
	} else if strings.TrimSpace(c.service.v) == "" {
		return fmt.Errorf("jaeger: %s: empty service name", c.service.from)
	}
	if c.maxPacket.from == "" {
		c.maxPacket.v = DefaultMaxPacketSize
	} else if c.maxPacket.v < MinPacketSize || c.maxPacket.v > MaxUDPPayload {
		return fmt.Errorf("jaeger: %s(%d): want from %d to %d bytes", c.maxPacket.from, c.maxPacket.v, MinPacketSize, MaxUDPPayload)
	}
	for _, s := range []struct {
		s   *setting[int]
		def int
	}{{&c.queueSize, DefaultQueueSize}, {&c.batchSize, DefaultBatchSize}} {
		if s.s.from == "" {
			s.s.v = s.def
		} else if s.s.v <= 0 {
			return fmt.Errorf("jaeger: %s(%d): must be positive", s.s.from, s.s.v)
		}
	}
	if c.flush.from == "" {
		c.flush.v = DefaultFlushInterval
	} else if c.flush.v <= 0 {
		return fmt.Errorf("jaeger: %s(%v): the flush interval must be positive", c.flush.from, c.flush.v)
	}
	return nil
}

func orDefault(from string) string {
	if from == "" {
		return "default agent"
	}
	return from
}

// checkAddress accepts host:port with a non-empty host and a port from 1 to 65535.
func checkAddress(addr string) error {
	if strings.Contains(addr, "://") {
		return fmt.Errorf("want host:port, without a scheme")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port: %w", err)
	}
	if host == "" {
		return fmt.Errorf("want host:port: empty host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("want host:port: port %q is not a number from 1 to 65535", port)
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
