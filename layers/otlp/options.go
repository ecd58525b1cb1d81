package otlp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

// The layer's defaults; see the options that change them.
const (
	// DefaultGRPCEndpoint is where spans go over gRPC without an endpoint: the
	// specification's default, plaintext.
	DefaultGRPCEndpoint = "localhost:4317"
	// DefaultHTTPEndpoint is where spans go over HTTP/protobuf without an endpoint.
	DefaultHTTPEndpoint = "http://localhost:4318/v1/traces"
	// DefaultQueueSize is how many closed spans wait for the collector at most.
	DefaultQueueSize = pipeline.DefaultQueueSize
	// DefaultBatchSize is how many spans one export request carries at most.
	DefaultBatchSize = pipeline.DefaultBatchSize
	// DefaultFlushInterval is the longest a span waits for a fuller batch.
	DefaultFlushInterval = pipeline.DefaultFlushInterval
	// DefaultTimeout bounds one export request, as OTEL_EXPORTER_OTLP_TIMEOUT's default.
	DefaultTimeout = 10 * time.Second
)

// The protocols of [WithProtocol] and OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// The compressions of [WithCompression] and OTEL_EXPORTER_OTLP_COMPRESSION.
const (
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// The environment variables [FromEnv] reads, as OpenTelemetry SDKs do. A TRACES_
// variable wins over its general form.
const (
	EnvEndpoint          = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvHeaders           = "OTEL_EXPORTER_OTLP_HEADERS"
	EnvTracesHeaders     = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	EnvProtocol          = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol    = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvCompression       = "OTEL_EXPORTER_OTLP_COMPRESSION"
	EnvTracesCompression = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
	EnvInsecure          = "OTEL_EXPORTER_OTLP_INSECURE"
	EnvTracesInsecure    = "OTEL_EXPORTER_OTLP_TRACES_INSECURE"
	EnvTimeout           = "OTEL_EXPORTER_OTLP_TIMEOUT" // milliseconds
	EnvTracesTimeout     = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	EnvServiceName       = "OTEL_SERVICE_NAME"
	EnvResourceAttrs     = "OTEL_RESOURCE_ATTRIBUTES"
)

// Option configures a [Layer]; see [New].
type Option func(*config)

// setting is one configured value and where it came from, for error messages.
type setting[T any] struct {
	v    T
	from string // "WithEndpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", ...; "" when not set
}

func (s *setting[T]) set(v T, from string) { s.v, s.from = v, from }

// endpointForm says how an endpoint's path is read for HTTP/protobuf.
type endpointForm uint8

const (
	endpointOption endpointForm = iota // WithEndpoint: no path gets /v1/traces, a path is kept
	endpointBase                       // OTEL_EXPORTER_OTLP_ENDPOINT: /v1/traces appended to the path
	endpointExact                      // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: used as is
)

type config struct {
	endpoint      setting[string]
	endpointForm  endpointForm
	protocol      setting[string]
	compression   setting[string]
	insecure      setting[bool]
	tls           *tls.Config
	tlsSet        bool
	headers       setting[map[string]string]
	service       setting[string]
	resource      []slog.Attr
	queueSize     setting[int]
	batchSize     setting[int]
	flushInterval setting[time.Duration]
	timeout       setting[time.Duration]
	logf          func(format string, args ...any)
	errs          []error
}

// WithEndpoint sets where spans go. Over gRPC: "host:port" (TLS unless [WithInsecure]),
// or a URL "http://host:port" (plaintext) or "https://host:port" (TLS). Over
// HTTP/protobuf ([WithProtocol]): a URL; one without a path (or with "/") gets the
// specification's "/v1/traces", one with a path is used as is. Default:
// [DefaultGRPCEndpoint] or [DefaultHTTPEndpoint], both plaintext, as the specification
// says.
func WithEndpoint(endpoint string) Option {
	return func(c *config) {
		c.endpoint.set(endpoint, "WithEndpoint")
		c.endpointForm = endpointOption
	}
}

// WithInsecure sends in plaintext over gRPC to a "host:port" endpoint (tests, a local
// collector or agent). An http:// endpoint is plaintext anyway.
func WithInsecure() Option {
	return func(c *config) { c.insecure.set(true, "WithInsecure") }
}

// WithTLS sets the TLS configuration of the connection (default: the system's roots,
// for a "host:port" gRPC endpoint or an https:// one).
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls, c.tlsSet = cfg, true }
}

// WithHeaders sets headers sent with every export request: gRPC metadata (keys in
// lowercase) or HTTP headers, for authentication tokens ("authorization", "x-api-key"
// ...). It replaces the headers of an earlier option or of the environment.
func WithHeaders(h map[string]string) Option {
	return func(c *config) {
		cp := make(map[string]string, len(h))
		for k, v := range h {
			cp[k] = v
		}
		c.headers.set(cp, "WithHeaders")
	}
}

// WithCompression sets the compression of export requests: [CompressionGzip] or
// [CompressionNone] (the default, as in the OpenTelemetry SDKs).
func WithCompression(compression string) Option {
	return func(c *config) { c.compression.set(compression, "WithCompression") }
}

// WithProtocol sets the transport: [ProtocolGRPC] (the default) or
// [ProtocolHTTPProtobuf].
func WithProtocol(protocol string) Option {
	return func(c *config) { c.protocol.set(protocol, "WithProtocol") }
}

// WithService sets the resource's service.name (default: OTEL_SERVICE_NAME with
// [FromEnv], else a service.name given with [WithResource] or OTEL_RESOURCE_ATTRIBUTES,
// else "unknown_service:<executable name>" as the SDKs do).
func WithService(name string) Option {
	return func(c *config) { c.service.set(name, "WithService") }
}

// WithResource adds attributes to the resource every span is exported under
// ("deployment.environment.name", "service.version", ...), after those of
// OTEL_RESOURCE_ATTRIBUTES with [FromEnv]; a later attribute with the same key wins.
// Values are typed as span attributes are (see the package documentation).
func WithResource(attrs ...slog.Attr) Option {
	return func(c *config) { c.resource = append(c.resource, attrs...) }
}

// WithQueueSize sets how many closed spans wait for the collector at most (default
// [DefaultQueueSize]); beyond it they are dropped and counted. n must be positive.
func WithQueueSize(n int) Option {
	return func(c *config) { c.queueSize.set(n, "WithQueueSize") }
}

// WithBatchSize sets how many spans one export request carries at most (default
// [DefaultBatchSize]). n must be positive.
func WithBatchSize(n int) Option {
	return func(c *config) { c.batchSize.set(n, "WithBatchSize") }
}

// WithFlushInterval sets the longest a span waits for a fuller batch (default
// [DefaultFlushInterval]). d must be positive.
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flushInterval.set(d, "WithFlushInterval") }
}

// WithTimeout bounds one export request (default [DefaultTimeout]). d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout.set(d, "WithTimeout") }
}

// WithLogf sets where the layer reports its own errors (a collector that cannot be
// reached, spans it rejected), at most one line per kind every 30s. Default: the
// standard log package, to stderr.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// fromEnv fills c from the environment, for FromEnv; explicit options applied later
// override these values.
func (c *config) fromEnv() {
	// lookup returns the TRACES_ variable if set, else the general one.
	lookup := func(general, traces string) (string, string, bool) {
		if v, ok := os.LookupEnv(traces); ok && v != "" {
			return v, traces, true
		}
		if v, ok := os.LookupEnv(general); ok && v != "" {
			return v, general, true
		}
		return "", "", false
	}
	if v, name, ok := lookup(EnvEndpoint, EnvTracesEndpoint); ok {
		c.endpoint.set(strings.TrimSpace(v), name)
		c.endpointForm = endpointBase
		if name == EnvTracesEndpoint {
			c.endpointForm = endpointExact
		}
	}
	if v, name, ok := lookup(EnvProtocol, EnvTracesProtocol); ok {
		c.protocol.set(strings.TrimSpace(v), name)
	}
	if v, name, ok := lookup(EnvCompression, EnvTracesCompression); ok {
		c.compression.set(strings.TrimSpace(v), name)
	}
	if v, name, ok := lookup(EnvInsecure, EnvTracesInsecure); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			c.insecure.set(true, name)
		case "false":
			c.insecure.set(false, name)
		default:
			c.errs = append(c.errs, fmt.Errorf("otlp: %s=%q: want true or false", name, v))
		}
	}
	if v, name, ok := lookup(EnvTimeout, EnvTracesTimeout); ok {
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Duration(1<<62)/time.Millisecond) {
			c.errs = append(c.errs, fmt.Errorf("otlp: %s=%q: want a whole number of milliseconds above 0", name, v))
		} else {
			c.timeout.set(time.Duration(ms)*time.Millisecond, name)
		}
	}
	if v, name, ok := lookup(EnvHeaders, EnvTracesHeaders); ok {
		h, err := parseKeyValues(v)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("otlp: %s: %w", name, err))
		} else {
			c.headers.set(h.m, name)
		}
	}
	if v, ok := os.LookupEnv(EnvResourceAttrs); ok && strings.TrimSpace(v) != "" {
		kv, err := parseKeyValues(v)
		if err != nil {
			c.errs = append(c.errs, fmt.Errorf("otlp: %s: %w", EnvResourceAttrs, err))
		} else {
			for _, k := range kv.keys {
				c.resource = append(c.resource, slog.String(k, kv.m[k]))
			}
		}
	}
	if v, ok := os.LookupEnv(EnvServiceName); ok && strings.TrimSpace(v) != "" {
		c.service.set(strings.TrimSpace(v), EnvServiceName)
	}
}

type keyValues struct {
	m    map[string]string
	keys []string // in order of first appearance
}

// parseKeyValues reads "k=v,k2=v2" as OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_RESOURCE_ATTRIBUTES hold them (W3C baggage style): keys and values trimmed,
// values percent-decoded; empty members are skipped; a later key wins.
func parseKeyValues(s string) (keyValues, error) {
	kv := keyValues{m: make(map[string]string)}
	for member := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(member) == "" {
			continue
		}
		k, v, ok := strings.Cut(member, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return kv, fmt.Errorf("%q: want key=value", strings.TrimSpace(member))
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return kv, fmt.Errorf("%q: the value is not percent-encoded: %w", strings.TrimSpace(member), err)
		}
		if _, seen := kv.m[k]; !seen {
			kv.keys = append(kv.keys, k)
		}
		kv.m[k] = dv
	}
	return kv, nil
}

// resolved is a checked configuration.
type resolved struct {
	protocol    string
	target      string // gRPC: host:port; HTTP: the URL to post to
	tls         *tls.Config
	plaintext   bool
	headers     map[string]string
	gzip        bool
	service     string
	resource    []slog.Attr // service.name first, SDK attributes, then the user's
	pipe        pipeline.Config
	logf        func(format string, args ...any)
	headerNames []string // sorted, for deterministic order on the wire
}

// resolve applies defaults and checks every value, returning the first problem with
// the option or variable that caused it.
func (c *config) resolve() (*resolved, error) {
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	r := &resolved{logf: c.logf}
	switch p := c.protocol.v; {
	case c.protocol.from == "" || p == ProtocolGRPC:
		r.protocol = ProtocolGRPC
	case p == ProtocolHTTPProtobuf:
		r.protocol = ProtocolHTTPProtobuf
	case p == "http/json":
		return nil, fmt.Errorf("otlp: %s=%q: http/json is not supported; want %q or %q", c.protocol.from, p, ProtocolGRPC, ProtocolHTTPProtobuf)
	default:
		return nil, fmt.Errorf("otlp: %s=%q: want %q or %q", c.protocol.from, p, ProtocolGRPC, ProtocolHTTPProtobuf)
	}
	switch v := strings.ToLower(c.compression.v); {
	case c.compression.from == "" || v == CompressionNone:
	case v == CompressionGzip:
		r.gzip = true
	default:
		return nil, fmt.Errorf("otlp: %s=%q: want %q or %q", c.compression.from, c.compression.v, CompressionGzip, CompressionNone)
	}
	if c.tlsSet && c.tls == nil {
		return nil, fmt.Errorf("otlp: WithTLS(nil): want a *tls.Config (WithInsecure for plaintext)")
	}
	if c.tlsSet && c.insecure.from == "WithInsecure" && c.insecure.v {
		return nil, fmt.Errorf("otlp: WithTLS and WithInsecure: choose one")
	}
	if err := c.resolveEndpoint(r); err != nil {
		return nil, err
	}
	if err := checkHeaders(c.headers.v); err != nil {
		return nil, fmt.Errorf("otlp: %s: %w", c.headers.from, err)
	}
	r.headers = c.headers.v
	for k := range r.headers {
		r.headerNames = append(r.headerNames, k)
	}
	slices.Sort(r.headerNames)

	for _, s := range []*setting[int]{&c.queueSize, &c.batchSize} {
		if s.from != "" && s.v <= 0 {
			return nil, fmt.Errorf("otlp: %s(%d): must be positive", s.from, s.v)
		}
	}
	for _, s := range []*setting[time.Duration]{&c.flushInterval, &c.timeout} {
		if s.from != "" && s.v <= 0 {
			return nil, fmt.Errorf("otlp: %s(%v): must be positive", s.from, s.v)
		}
	}
	r.pipe = pipeline.Config{
		Name:          "otlp spans",
		QueueSize:     c.queueSize.v,
		BatchSize:     c.batchSize.v,
		FlushInterval: c.flushInterval.v,
		SendTimeout:   DefaultTimeout,
		Logf:          c.logf,
	}
	if c.timeout.from != "" {
		r.pipe.SendTimeout = c.timeout.v
	}
	if err := c.resolveResource(r); err != nil {
		return nil, err
	}
	return r, nil
}

// resolveEndpoint sets r's target and security from the endpoint, the protocol and the
// TLS options.
func (c *config) resolveEndpoint(r *resolved) error {
	from, ep := c.endpoint.from, strings.TrimSpace(c.endpoint.v)
	if from == "" {
		ep = DefaultGRPCEndpoint
		if r.protocol == ProtocolHTTPProtobuf {
			ep = DefaultHTTPEndpoint
		}
		from = "the default endpoint"
	} else if ep == "" {
		return fmt.Errorf("otlp: %s: empty endpoint", from)
	}
	insecure := c.insecure.v
	if c.endpoint.from == "" {
		insecure = true // the specification's defaults are http:// URLs
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("otlp: %s=%q: %s", from, c.endpoint.v, fmt.Sprintf(format, args...))
	}
	var scheme, hostport, path, query string
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return bad("not a URL: %v", err)
		}
		scheme, hostport, path, query = strings.ToLower(u.Scheme), u.Host, u.EscapedPath(), u.RawQuery
		if u.Fragment != "" || (r.protocol == ProtocolGRPC && u.RawQuery != "") {
			return bad("an endpoint has no fragment, and a gRPC endpoint no query")
		}
		if scheme != "http" && scheme != "https" {
			return bad("the scheme must be http or https")
		}
	} else {
		hostport = ep
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		if scheme == "" {
			return bad("want host:port or a URL: %v", err)
		}
		// A URL may leave the port out.
		host, port = hostport, map[string]string{"http": "80", "https": "443"}[scheme]
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
	}
	if host == "" {
		return bad("empty host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return bad("port %q is not a number from 1 to 65535", port)
	}
	switch {
	case scheme == "http":
		r.plaintext = true
	case scheme == "https":
		r.plaintext = false
	default:
		r.plaintext = insecure
	}
	if c.tlsSet && r.plaintext {
		return fmt.Errorf("otlp: WithTLS with %s=%q: the endpoint is plaintext", from, c.endpoint.v)
	}
	if !r.plaintext {
		r.tls = c.tls
		if r.tls == nil {
			r.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	if r.protocol == ProtocolGRPC {
		if path != "" && path != "/" {
			return bad("a gRPC endpoint has no path (the service path is the protocol's)")
		}
		r.target = net.JoinHostPort(host, port)
		return nil
	}
	if scheme == "" {
		scheme = "https"
		if r.plaintext {
			scheme = "http"
		}
	}
	switch {
	case c.endpoint.from == "":
	case c.endpointForm == endpointBase:
		path = strings.TrimSuffix(path, "/") + "/v1/traces"
	case c.endpointForm == endpointOption && (path == "" || path == "/"):
		path = "/v1/traces"
	case path == "":
		path = "/"
	}
	if c.endpoint.from == "" {
		r.target = ep
		return nil
	}
	r.target = scheme + "://" + net.JoinHostPort(host, port) + path
	if query != "" {
		r.target += "?" + query
	}
	return nil
}

// checkHeaders accepts header names that are HTTP tokens and values without control
// characters (but tab).
func checkHeaders(h map[string]string) error {
	for k, v := range h {
		if k == "" {
			return fmt.Errorf("empty header name")
		}
		for i := 0; i < len(k); i++ {
			if !isTokenChar(k[i]) {
				return fmt.Errorf("header name %q: %q is not allowed in a header name", k, k[i])
			}
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return fmt.Errorf("header %q: control character %q in the value", k, c)
			}
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// resolveResource sets the service name and the resource's attributes.
func (c *config) resolveResource(r *resolved) error {
	r.service = c.service.v
	if c.service.from != "" && strings.TrimSpace(r.service) == "" {
		return fmt.Errorf("otlp: %s: empty service name", c.service.from)
	}
	var user []slog.Attr
	for _, a := range c.resource {
		if a.Key == "" {
			return fmt.Errorf("otlp: WithResource: an attribute with an empty key")
		}
		if a.Key == "service.name" {
			if c.service.from == "" {
				r.service = a.Value.Resolve().String()
			}
			continue
		}
		// A later attribute with the same key wins, in the place of the first.
		replaced := false
		for i := range user {
			if user[i].Key == a.Key {
				user[i], replaced = a, true
			}
		}
		if !replaced {
			user = append(user, a)
		}
	}
	if strings.TrimSpace(r.service) == "" {
		r.service = defaultService()
	}
	r.resource = append([]slog.Attr{
		slog.String("service.name", r.service),
		slog.String("telemetry.sdk.name", "strata"),
		slog.String("telemetry.sdk.language", "go"),
		slog.String("telemetry.sdk.version", SDKVersion),
	}, user...)
	return nil
}

// defaultService is "unknown_service:<executable name>", as the OpenTelemetry SDKs
// name a service that did not say its name.
func defaultService() string {
	name := ""
	if len(os.Args) > 0 {
		name = strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	}
	if name == "" || name == "." || name == string(filepath.Separator) {
		return "unknown_service"
	}
	return "unknown_service:" + name
}
