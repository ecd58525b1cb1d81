package skywalking

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/subscriber"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// The layer's defaults; see the options that change them.
const (
	// DefaultHeartbeat is how often the instance tells the collector it is alive.
	DefaultHeartbeat = 30 * time.Second
	// DefaultLinger is how long a segment whose first span ended waits for its other
	// spans; see [WithLinger].
	DefaultLinger = 10 * time.Second
	// DefaultQueueSize is how many finished segments wait for the collector at most.
	DefaultQueueSize = 10_000
	// DefaultMaxOpenSegments is how many segments may be assembled at once; see
	// [WithMaxOpenSegments].
	DefaultMaxOpenSegments = 10_000
	// DefaultMaxSpansPerSegment is how many spans a segment holds at most; see
	// [WithMaxSpansPerSegment].
	DefaultMaxSpansPerSegment = 1000
)

// The SkyWalking component ids the layer gives spans by default (see the OAP's
// component-libraries.yml). [WithComponent] changes them.
const (
	ComponentHTTPServer int32 = 5004 // Go HTTP server: entry spans with http.* fields
	ComponentHTTPClient int32 = 5005 // Go HTTP client: exit spans with http.* fields
	ComponentGRPC       int32 = 23   // gRPC: spans with rpc.system=grpc
)

// The environment variables [FromEnv] reads, as other SkyWalking agents do.
const (
	EnvService        = "SW_AGENT_NAME"
	EnvInstance       = "SW_AGENT_INSTANCE_NAME"
	EnvCollector      = "SW_AGENT_COLLECTOR_BACKEND_SERVICES"
	EnvAuthentication = "SW_AGENT_AUTHENTICATION"
	EnvHeartbeat      = "SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD" // whole seconds
	EnvLayer          = "SW_AGENT_LAYER"
)

// Option configures a [Layer]; see [New].
type Option func(*config)

// setting is one configured value and where it came from, for error messages.
type setting[T any] struct {
	v    T
	from string // "WithService", "SW_AGENT_NAME", ...; "" when not set
}

func (s *setting[T]) set(v T, from string) { s.v, s.from = v, from }

type componentRule struct {
	kind string // "http.server", "http.client", "grpc", or "" for a field match
	key  string // field key, for a field match
	val  string // field value, for a field match
	id   int32
}

type config struct {
	service, instance, address, token, layer setting[string]
	heartbeat, linger                        setting[time.Duration]
	queueSize, maxOpen, maxSpans             setting[int]
	tls                                      *tls.Config
	components                               []componentRule
	logf                                     func(format string, args ...any)
	logFilter                                subscriber.Filter
	logFilterSet                             bool
	logJSON                                  bool
	logQueueSize                             setting[int]
	meterSrc                                 *metrics.Layer
	meterPeriod                              setting[time.Duration]
	errs                                     []error
	rep                                      reporter // tests: a reporter instead of a collector
	exporter                                 func(context.Context, []*agentv3.SegmentObject) error
}

// WithService sets the service name the segments are reported under (default: the
// executable's file name, without an .exe suffix).
func WithService(name string) Option {
	return func(c *config) { c.service.set(name, "WithService") }
}

// WithInstance sets the service instance name (default: "<pid>@<hostname>", unique per
// process and readable in the UI).
func WithInstance(name string) Option {
	return func(c *config) { c.instance.set(name, "WithInstance") }
}

// WithCollector sets the host:port of the SkyWalking OAP (or satellite) gRPC receiver,
// usually port 11800, or several separated by commas: the layer uses the first that
// answers and moves to the next when it goes away. Without one, [New] fails: the layer
// exists to export.
func WithCollector(addr string) Option {
	return func(c *config) { c.address.set(addr, "WithCollector") }
}

// WithAuthentication sets the token sent as the "authentication" metadata of every call,
// for an OAP configured with one.
func WithAuthentication(token string) Option {
	return func(c *config) { c.token.set(token, "WithAuthentication") }
}

// WithTLS connects to the collector over TLS with cfg (default: plaintext).
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithHeartbeat sets how often the instance sends keepAlive (default [DefaultHeartbeat]).
// It must be positive.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) { c.heartbeat.set(d, "WithHeartbeat") }
}

// WithLayer sets the service's layer for the OAP ("GENERAL", "MESH", ...; default: none,
// which the OAP takes as GENERAL).
func WithLayer(layer string) Option {
	return func(c *config) { c.layer.set(layer, "WithLayer") }
}

// WithLinger sets how long a segment whose first span has ended waits for its other
// spans (default [DefaultLinger]). A span still open then, typically a goroutine that
// outlives the request that started it, no longer holds the segment: the segment is
// reported, and the late span is reported later in a segment of its own with a
// CrossThread reference to its parent. Longer lingers keep more of such work in one
// segment and hold more memory; d must be positive.
func WithLinger(d time.Duration) Option {
	return func(c *config) { c.linger.set(d, "WithLinger") }
}

// WithQueueSize sets how many finished segments wait for the collector at most (default
// [DefaultQueueSize]); beyond it they are dropped and counted. n must be positive.
func WithQueueSize(n int) Option {
	return func(c *config) { c.queueSize.set(n, "WithQueueSize") }
}

// WithMaxOpenSegments caps the segments being assembled at once (default
// [DefaultMaxOpenSegments]), which bounds the layer's memory when spans are never
// ended or traffic outruns the collector: the spans of a local root started beyond the
// cap are not exported and are counted. n must be positive.
func WithMaxOpenSegments(n int) Option {
	return func(c *config) { c.maxOpen.set(n, "WithMaxOpenSegments") }
}

// WithMaxSpansPerSegment caps the spans of one segment (default
// [DefaultMaxSpansPerSegment]), like SkyWalking agents' span_limit_per_segment: later
// spans of a segment, and their children, are not exported and are counted, and the
// segment is flagged isSizeLimited. n must be positive.
func WithMaxSpansPerSegment(n int) Option {
	return func(c *config) { c.maxSpans.set(n, "WithMaxSpansPerSegment") }
}

// WithComponent sets the SkyWalking component id of a kind of span. kind is
// "http.server" (default [ComponentHTTPServer]), "http.client" (default
// [ComponentHTTPClient]), "grpc" (default [ComponentGRPC]), or "key=value", which
// matches spans with that own field (e.g. "db.system=mysql" with 5012, go-mysql). The
// first matching "key=value" rule wins over the kinds; later options for the same kind
// win over earlier ones. A span's own integer field "sw.component" wins over all.
func WithComponent(kind string, id int32) Option {
	return func(c *config) {
		switch {
		case id < 0:
			c.errs = append(c.errs, fmt.Errorf("skywalking: WithComponent(%q, %d): negative component id", kind, id))
		case kind == "http.server" || kind == "http.client" || kind == "grpc":
			c.components = append(c.components, componentRule{kind: kind, id: id})
		default:
			k, v, ok := strings.Cut(kind, "=")
			if !ok || k == "" {
				c.errs = append(c.errs, fmt.Errorf(`skywalking: WithComponent(%q, %d): kind is not "http.server", "http.client", "grpc" or "key=value"`, kind, id))
				return
			}
			c.components = append(c.components, componentRule{key: k, val: v, id: id})
		}
	}
}

// WithLogf sets where the layer reports its own errors (a collector that cannot be
// reached, rate-limited to one line per kind every 30s). Default: the standard log
// package, to stderr.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// WithLogFilter sets which events the layer reports as log records on the collector's
// LogReportService (default [DefaultLogFilter]: WARN and above). Any filter works,
// directives from layers/filter included:
//
//	dirs, err := filter.Parse("warn,songs/vendor=info")
//	sw, err := skywalking.New(skywalking.WithLogFilter(dirs), ...)
//
// It decides only the log records: every event inside an exported span still becomes a
// log of that span in its segment. nil reports no log records.
func WithLogFilter(f subscriber.Filter) Option {
	return func(c *config) { c.logFilter, c.logFilterSet = f, true }
}

// WithLogJSONBody makes the body of each log record a JSON object of the event's
// message (key "message") and fields, instead of the message as text. The fields are
// in the record's tags either way.
func WithLogJSONBody() Option {
	return func(c *config) { c.logJSON = true }
}

// WithLogQueueSize sets how many log records wait for the collector at most (default
// [DefaultQueueSize]); beyond it they are dropped and counted. n must be positive.
func WithLogQueueSize(n int) Option {
	return func(c *config) { c.logQueueSize.set(n, "WithLogQueueSize") }
}

// WithMeters reports the series of the metrics layer m to the collector's
// MeterReportService every period (0: [DefaultMeterPeriod]), and once more at Shutdown
// so that a short-lived program loses no value: the series derived from spans and
// events, the application's counters, gauges and histograms made with m's NewCounter,
// NewGaugeFunc and NewHistogram, and the gauges given to m.RegisterGauge. Counters and
// gauges go as single values with their labels, histograms with their buckets' lower
// bounds (the first bucket's is negative infinity), as the protocol defines.
//
//	met := metrics.New()
//	sw, err := skywalking.FromEnv(skywalking.WithMeters(met, 0))
//	d := subscriber.MustNew(storage.New(), met, sw)
func WithMeters(m *metrics.Layer, period time.Duration) Option {
	return func(c *config) {
		c.meterSrc = m
		if period != 0 {
			c.meterPeriod.set(period, "WithMeters")
		}
	}
}

// WithSegmentExporter sends the finished segments to export instead of a collector's
// gRPC collect stream: the hook for a custom transport (HTTP, a message queue, a file)
// and for tests. Segments go through the same bounded queue and batching as with a
// collector ([WithQueueSize]): export is called from the queue's one goroutine, one
// batch at a time, never from a span's goroutine. A nil error counts the batch
// in [Stats.Sent], any other in [Stats.Failed]. export must not keep the batch or the segments after it
// returns: the layer may reuse their memory.
//
// With it, no collector address is needed and none is dialed; log records
// ([WithLogFilter]) and meters ([WithMeters]) then have no transport and are not
// reported.
func WithSegmentExporter(export func(ctx context.Context, segs []*agentv3.SegmentObject) error) Option {
	return func(c *config) { c.exporter = export }
}

// withReporter makes the layer hand segments to r instead of a collector (tests).
func withReporter(r reporter) Option {
	return func(c *config) { c.rep = r }
}

// fromEnv fills c from the environment, for FromEnv; explicit options applied later
// override these values.
func (c *config) fromEnv() {
	str := func(s *setting[string], name string) {
		if v, ok := os.LookupEnv(name); ok {
			s.set(v, name)
		}
	}
	str(&c.service, EnvService)
	str(&c.instance, EnvInstance)
	str(&c.address, EnvCollector)
	str(&c.token, EnvAuthentication)
	str(&c.layer, EnvLayer)
	if v, ok := os.LookupEnv(EnvHeartbeat); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("skywalking: %s=%q: want a whole number of seconds above 0", EnvHeartbeat, v))
		} else {
			c.heartbeat.set(time.Duration(n)*time.Second, EnvHeartbeat)
		}
	}
}

// resolve applies defaults and checks every value, returning the first problem with
// the option or variable that caused it.
func (c *config) resolve() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if c.service.from == "" {
		c.service.v = defaultService()
	} else if strings.TrimSpace(c.service.v) == "" {
		return fmt.Errorf("skywalking: %s: empty service name", c.service.from)
	}
	if c.instance.from == "" {
		c.instance.v = defaultInstance()
	} else if strings.TrimSpace(c.instance.v) == "" {
		return fmt.Errorf("skywalking: %s: empty instance name", c.instance.from)
	}
	if c.rep == nil && c.exporter == nil {
		if c.address.from == "" || c.address.v == "" {
			from := c.address.from
			if from == "" {
				from = "no WithCollector option and no " + EnvCollector
			}
			return fmt.Errorf("skywalking: %s: no collector address (want host:port of the OAP's gRPC receiver, usually port 11800)", from)
		}
		if err := checkAddress(c.address.v); err != nil {
			return fmt.Errorf("skywalking: %s=%q: %w", c.address.from, c.address.v, err)
		}
	}
	if c.heartbeat.from == "" {
		c.heartbeat.v = DefaultHeartbeat
	} else if c.heartbeat.v <= 0 {
		return fmt.Errorf("skywalking: %s(%v): the heartbeat must be positive", c.heartbeat.from, c.heartbeat.v)
	}
	if c.linger.from == "" {
		c.linger.v = DefaultLinger
	} else if c.linger.v <= 0 {
		return fmt.Errorf("skywalking: %s(%v): the linger must be positive", c.linger.from, c.linger.v)
	}
	for _, s := range []struct {
		s   *setting[int]
		def int
	}{{&c.queueSize, DefaultQueueSize}, {&c.logQueueSize, DefaultQueueSize}, {&c.maxOpen, DefaultMaxOpenSegments}, {&c.maxSpans, DefaultMaxSpansPerSegment}} {
		if s.s.from == "" {
			s.s.v = s.def
		} else if s.s.v <= 0 {
			return fmt.Errorf("skywalking: %s(%d): must be positive", s.s.from, s.s.v)
		}
	}
	if c.meterPeriod.from == "" {
		c.meterPeriod.v = DefaultMeterPeriod
	} else if c.meterPeriod.v <= 0 {
		return fmt.Errorf("skywalking: %s(%v): the meter period must be positive", c.meterPeriod.from, c.meterPeriod.v)
	}
	if !c.logFilterSet {
		c.logFilter = DefaultLogFilter
	}
	if c.maxSpans.v > 1<<30 {
		c.maxSpans.v = 1 << 30
	}
	return nil
}

// checkAddress accepts host:port, or several separated by commas (the client uses the
// first that answers), each with a non-empty host and a port from 1 to 65535.
func checkAddress(list string) error {
	n := 0
	for addr := range strings.SplitSeq(list, ",") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		n++
		if strings.Contains(addr, "://") {
			return fmt.Errorf("%q: want host:port, without a scheme", addr)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%q: want host:port: %w", addr, err)
		}
		if host == "" {
			return fmt.Errorf("%q: want host:port: empty host", addr)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q: want host:port: port %q is not a number from 1 to 65535", addr, port)
		}
	}
	if n == 0 {
		return fmt.Errorf("no address")
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

// defaultInstance is "<pid>@<hostname>".
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return strconv.Itoa(os.Getpid()) + "@" + host
}
