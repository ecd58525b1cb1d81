package oap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"

	"github.com/strata-go/strata/layers/internal/pipeline"
)

// DefaultHeartbeat is how often the client sends keepAlive by default, as the Java and
// Go agents do.
const DefaultHeartbeat = 30 * time.Second

// AuthenticationKey is the gRPC metadata key that carries Config.Token, as the OAP's
// authentication interceptor reads it.
const AuthenticationKey = "authentication"

// callTimeout bounds each management call (properties, keepAlive).
const callTimeout = 10 * time.Second

// reconnect is how gRPC paces attempts to reach a collector that is down: from half a
// second, growing to at most 10 seconds (gRPC's default grows to 2 minutes, long for a
// collector that restarts).
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 500 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 10 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// ErrClosed is returned by the Send methods after Close.
var ErrClosed = errors.New("skywalking: client is closed")

// Config configures a [Client].
type Config struct {
	// Address is host:port of the OAP or collector (11800 is the OAP's gRPC port), or
	// several separated by commas: the client uses the first that answers and moves
	// to the next when it goes away.
	Address string
	// Token is sent as the "authentication" gRPC metadata key on every call; empty:
	// none.
	Token string
	// TLS configures the connection's TLS; nil: plaintext.
	TLS *tls.Config
	// Service and Instance name this process in the properties and keepAlives.
	Service, Instance string
	// Layer is the instance's layer in the OAP's terms ("GENERAL", "MESH", ...);
	// empty leaves it to the OAP (GENERAL).
	Layer string
	// Properties are reported with the instance, after DefaultProperties(); a key
	// given here replaces the default pairs with that key.
	Properties []*commonv3.KeyStringValuePair
	// Heartbeat is the keepAlive period; 0 or less: DefaultHeartbeat (30s).
	Heartbeat time.Duration
	// Logf receives errors, at most one line per kind every 30s; nil: log.Printf.
	Logf func(format string, args ...any)
}

// Client talks to a SkyWalking OAP (or a collector speaking its protocol) over one
// lazily connected gRPC connection. Its Send methods are safe for concurrent use; a
// [pipeline.Pipeline] calls them from its one goroutine.
//
// Dial starts a management goroutine that reports the instance properties whenever
// the connection becomes ready (the first time, and after every reconnect, since an
// OAP that restarted forgot them) and sends keepAlive every Heartbeat while it is
// ready. Close stops it.
type Client struct {
	addr     string
	token    string
	conn     *grpc.ClientConn
	segments agentv3.TraceSegmentReportServiceClient
	logs     logv3.LogReportServiceClient
	meters   agentv3.MeterReportServiceClient
	mgmt     managementv3.ManagementServiceClient
	// props is the properties report, replaced whole (copy on write) under propsMu by
	// SetProperty and RemoveProperty, so that a report in flight is never modified.
	propsMu    sync.Mutex
	props      *managementv3.InstanceProperties
	propsDirty atomic.Bool        // changed since the last report: report again
	wake       context.CancelFunc // wakes the management goroutine's wait; under propsMu
	ping       *managementv3.InstancePingPkg
	heartbeat  time.Duration
	log        *pipeline.LogLimiter

	ctx        context.Context // cancelled by Close: stops the management goroutine
	cancel     context.CancelFunc
	exited     chan struct{}
	closed     atomic.Bool
	closeOnce  sync.Once
	closeErr   error
	needReport atomic.Bool // a call failed for want of a connection: report properties again once ready
}

// Dial validates cfg, prepares the connection and starts the management goroutine. It
// does not wait for the collector: the connection is made in the background and
// calls made before it is up fail with errors wrapped in pipeline.Retry.
func Dial(cfg Config) (*Client, error) {
	if cfg.Service == "" {
		return nil, errors.New("skywalking: service name is empty")
	}
	if cfg.Instance == "" {
		return nil, errors.New("skywalking: instance name is empty")
	}
	addrs, err := splitAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithConnectParams(reconnect)}
	target := addrs[0]
	if len(addrs) > 1 {
		// A fixed list: pick_first tries them in order.
		r := manual.NewBuilderWithScheme("skywalking")
		var st resolver.State
		for _, a := range addrs {
			host, _, _ := net.SplitHostPort(a)
			st.Addresses = append(st.Addresses, resolver.Address{Addr: a, ServerName: host})
		}
		r.InitialState(st)
		opts = append(opts, grpc.WithResolvers(r))
		target = r.Scheme() + ":///collectors"
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("skywalking: dial %s: %w", cfg.Address, err)
	}
	c := &Client{
		addr:     cfg.Address,
		token:    cfg.Token,
		conn:     conn,
		segments: agentv3.NewTraceSegmentReportServiceClient(conn),
		logs:     logv3.NewLogReportServiceClient(conn),
		meters:   agentv3.NewMeterReportServiceClient(conn),
		mgmt:     managementv3.NewManagementServiceClient(conn),
		props: &managementv3.InstanceProperties{
			Service:         cfg.Service,
			ServiceInstance: cfg.Instance,
			Layer:           cfg.Layer,
			Properties:      mergeProperties(DefaultProperties(), cfg.Properties),
		},
		ping:      &managementv3.InstancePingPkg{Service: cfg.Service, ServiceInstance: cfg.Instance, Layer: cfg.Layer},
		heartbeat: cfg.Heartbeat,
		log:       pipeline.NewLogLimiter(cfg.Logf, pipeline.LogEvery),
		exited:    make(chan struct{}),
	}
	if c.heartbeat <= 0 {
		c.heartbeat = DefaultHeartbeat
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.manage()
	return c, nil
}

// splitAddress checks a comma-separated list of host:port addresses.
func splitAddress(s string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("skywalking: collector address %q: want host:port (the OAP's gRPC port is 11800)", a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, errors.New("skywalking: collector address is empty")
	}
	return addrs, nil
}

// Address returns the collector address the client was made with.
func (c *Client) Address() string { return c.addr }

// withToken returns ctx carrying the authentication metadata, if there is a token.
func (c *Client) withToken(ctx context.Context) context.Context {
	if c.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, AuthenticationKey, c.token)
}

// SendSegments sends segs on one TraceSegmentReportService.Collect client stream. An
// error wrapped with pipeline.Retry means the collector received none of them (the
// stream could not be opened, or the connection was not up for the first one); any
// other error means some may have been received.
func (c *Client) SendSegments(ctx context.Context, segs []*agentv3.SegmentObject) error {
	return collect(c, ctx, "segments", c.segments.Collect, segs)
}

// SendLogs sends logs on one LogReportService.Collect client stream, with the same
// errors as SendSegments.
func (c *Client) SendLogs(ctx context.Context, logs []*logv3.LogData) error {
	return collect(c, ctx, "logs", c.logs.Collect, logs)
}

// SendMeters sends meters on one MeterReportService.Collect client stream (the
// protocol takes one stream per report period, with service and instance on the first
// item), with the same errors as SendSegments.
func (c *Client) SendMeters(ctx context.Context, meters []*agentv3.MeterData) error {
	return collect(c, ctx, "meters", c.meters.Collect, meters)
}

// clientStream is what the generated Collect streams have in common.
type clientStream[M any] interface {
	Send(M) error
	CloseAndRecv() (*commonv3.Commands, error)
}

// collect opens a client stream with open, sends msgs on it and closes it.
func collect[M any, S clientStream[M]](c *Client, ctx context.Context, what string,
	open func(context.Context, ...grpc.CallOption) (S, error), msgs []M) error {
	if len(msgs) == 0 {
		return nil
	}
	if c.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(c.withToken(ctx))
	defer cancel() // releases the stream whatever happens
	stream, err := open(ctx)
	if err != nil {
		c.lostConnection(err)
		return pipeline.Retry(fmt.Errorf("skywalking: send %d %s to %s: open stream: %w", len(msgs), what, c.addr, err))
	}
	for i, m := range msgs {
		if err := stream.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				// The stream ended; its status says why.
				_, err = stream.CloseAndRecv()
			}
			c.lostConnection(err)
			err = fmt.Errorf("skywalking: send %d %s to %s: %d sent: %w", len(msgs), what, c.addr, i, err)
			if i == 0 && status.Code(err) == codes.Unavailable {
				return pipeline.Retry(err)
			}
			return err
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		c.lostConnection(err)
		return fmt.Errorf("skywalking: send %d %s to %s: %w", len(msgs), what, c.addr, err)
	}
	return nil
}

// lostConnection notes an error that means the connection went away, so that the
// properties are reported again once it is back.
func (c *Client) lostConnection(err error) {
	if status.Code(err) == codes.Unavailable {
		c.needReport.Store(true)
	}
}

// Close stops the management goroutine and closes the connection; calls in progress
// fail. It returns when the goroutine has stopped, or when ctx is done (the connection
// is closed either way). Calling Close again returns the first call's result for the
// connection.
func (c *Client) Close(ctx context.Context) error {
	c.closed.Store(true)
	c.cancel()
	var err error
	select {
	case <-c.exited:
	case <-ctx.Done():
		err = fmt.Errorf("skywalking: close client of %s: management goroutine still running: %w", c.addr, ctx.Err())
	}
	c.closeOnce.Do(func() {
		if cerr := c.conn.Close(); cerr != nil {
			c.closeErr = fmt.Errorf("skywalking: close connection to %s: %w", c.addr, cerr)
		}
	})
	return errors.Join(err, c.closeErr)
}
