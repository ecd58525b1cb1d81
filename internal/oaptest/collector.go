// Package oaptest is a fake SkyWalking collector for wire tests: a real gRPC server on
// 127.0.0.1 that implements the OAP's segment, log, meter and management services and
// records what it receives, with the "authentication" metadata of every call.
//
//	col := oaptest.Start(t)
//	c, _ := oap.Dial(oap.Config{Address: col.Addr(), Service: "songs", Instance: "a"})
//	... send segments ...
//	segs := col.WaitSegments(t, 1, 2*time.Second)
//
// To simulate a collector that restarts, Stop it and StartAt its address.
package oaptest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"
)

// Call is one call the collector received.
type Call struct {
	// Method is the full gRPC method: "/skywalking.v3.TraceSegmentReportService/collect".
	Method string
	// Token is the call's "authentication" metadata; empty when there was none.
	Token string
}

// The methods a Call can name.
const (
	MethodCollectSegments  = "/skywalking.v3.TraceSegmentReportService/collect"
	MethodCollectLogs      = "/skywalking.v3.LogReportService/collect"
	MethodCollectMeters    = "/skywalking.v3.MeterReportService/collect"
	MethodReportProperties = "/skywalking.v3.ManagementService/reportInstanceProperties"
	MethodKeepAlive        = "/skywalking.v3.ManagementService/keepAlive"
)

// Collector is a fake SkyWalking collector. Its methods are safe for concurrent use.
type Collector struct {
	addr string
	srv  *grpc.Server
	stop sync.Once
	done chan struct{} // closed when Serve returned

	mu         sync.Mutex
	segments   []*agentv3.SegmentObject
	logs       []*logv3.LogData
	meters     []*agentv3.MeterData
	properties []*managementv3.InstanceProperties
	keepAlives []*managementv3.InstancePingPkg
	calls      []Call
	token      string // when set, calls without it fail with Unauthenticated
}

// Start starts a collector on 127.0.0.1 on a free port. t.Cleanup stops it.
func Start(t testing.TB) *Collector {
	t.Helper()
	return StartAt(t, "127.0.0.1:0")
}

// StartAt starts a collector on addr, which a stopped collector may have used a moment
// ago (the listen is retried for a second). t.Cleanup stops it.
func StartAt(t testing.TB, addr string) *Collector {
	t.Helper()
	return start(t, addr)
}

// StartTLS starts a collector on 127.0.0.1 that speaks TLS with a self-signed
// certificate for 127.0.0.1 and localhost, and returns a client configuration that
// trusts it. t.Cleanup stops it.
func StartTLS(t testing.TB) (*Collector, *tls.Config) {
	t.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("oaptest: make a certificate: %v", err)
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return start(t, "127.0.0.1:0", grpc.Creds(creds)), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func start(t testing.TB, addr string, opts ...grpc.ServerOption) *Collector {
	t.Helper()
	var lis net.Listener
	var err error
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		lis, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("oaptest: listen on %s: %v", addr, err)
	}
	c := &Collector{addr: lis.Addr().String(), done: make(chan struct{})}
	opts = append(opts, grpc.ChainUnaryInterceptor(c.unary), grpc.ChainStreamInterceptor(c.stream))
	c.srv = grpc.NewServer(opts...)
	agentv3.RegisterTraceSegmentReportServiceServer(c.srv, segmentService{c: c})
	logv3.RegisterLogReportServiceServer(c.srv, logService{c: c})
	agentv3.RegisterMeterReportServiceServer(c.srv, meterService{c: c})
	managementv3.RegisterManagementServiceServer(c.srv, managementService{c: c})
	go func() {
		defer close(c.done)
		_ = c.srv.Serve(lis) // returns when Stop closes the listener
	}()
	t.Cleanup(c.Stop)
	return c
}

// Addr returns the collector's host:port.
func (c *Collector) Addr() string { return c.addr }

// Stop closes the listener and every connection at once, failing the calls in
// progress, as a collector that crashes or restarts does. It is idempotent.
func (c *Collector) Stop() {
	c.stop.Do(func() {
		c.srv.Stop()
		<-c.done
	})
}

// RequireToken makes the collector refuse, with codes.Unauthenticated, every call whose
// "authentication" metadata is not token, as an OAP with authentication enabled does.
func (c *Collector) RequireToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// Segments returns the segments received so far, in order of arrival.
func (c *Collector) Segments() []*agentv3.SegmentObject {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.segments)
}

// Logs returns the log records received so far.
func (c *Collector) Logs() []*logv3.LogData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.logs)
}

// Meters returns the meter data received so far.
func (c *Collector) Meters() []*agentv3.MeterData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.meters)
}

// Properties returns the instance properties reports received so far.
func (c *Collector) Properties() []*managementv3.InstanceProperties {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.properties)
}

// KeepAlives returns the keepAlives received so far.
func (c *Collector) KeepAlives() []*managementv3.InstancePingPkg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.keepAlives)
}

// Tokens returns the "authentication" metadata of every call received, in order (""
// for a call without it).
func (c *Collector) Tokens() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	tokens := make([]string, len(c.calls))
	for i, call := range c.calls {
		tokens[i] = call.Token
	}
	return tokens
}

// Calls returns every call received, in order.
func (c *Collector) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// WaitSegments waits until at least n segments arrived and returns them all; it fails
// the test after timeout. Call it from the test's goroutine.
func (c *Collector) WaitSegments(t testing.TB, n int, timeout time.Duration) []*agentv3.SegmentObject {
	t.Helper()
	if !waitUntil(timeout, func() bool { return len(c.Segments()) >= n }) {
		t.Fatalf("oaptest: %d segments after %v, want %d", len(c.Segments()), timeout, n)
	}
	return c.Segments()
}

// WaitProperties waits until at least n properties reports arrived and returns them
// all; it fails the test after timeout.
func (c *Collector) WaitProperties(t testing.TB, n int, timeout time.Duration) []*managementv3.InstanceProperties {
	t.Helper()
	if !waitUntil(timeout, func() bool { return len(c.Properties()) >= n }) {
		t.Fatalf("oaptest: %d properties reports after %v, want %d", len(c.Properties()), timeout, n)
	}
	return c.Properties()
}

// WaitKeepAlives waits until at least n keepAlives arrived and returns them all; it
// fails the test after timeout.
func (c *Collector) WaitKeepAlives(t testing.TB, n int, timeout time.Duration) []*managementv3.InstancePingPkg {
	t.Helper()
	if !waitUntil(timeout, func() bool { return len(c.KeepAlives()) >= n }) {
		t.Fatalf("oaptest: %d keepAlives after %v, want %d", len(c.KeepAlives()), timeout, n)
	}
	return c.KeepAlives()
}

// WaitLogs waits until at least n log records arrived and returns them all; it fails
// the test after timeout.
func (c *Collector) WaitLogs(t testing.TB, n int, timeout time.Duration) []*logv3.LogData {
	t.Helper()
	if !waitUntil(timeout, func() bool { return len(c.Logs()) >= n }) {
		t.Fatalf("oaptest: %d logs after %v, want %d", len(c.Logs()), timeout, n)
	}
	return c.Logs()
}

// WaitMeters waits until at least n meter data arrived and returns them all; it fails
// the test after timeout.
func (c *Collector) WaitMeters(t testing.TB, n int, timeout time.Duration) []*agentv3.MeterData {
	t.Helper()
	if !waitUntil(timeout, func() bool { return len(c.Meters()) >= n }) {
		t.Fatalf("oaptest: %d meter data after %v, want %d", len(c.Meters()), timeout, n)
	}
	return c.Meters()
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// admit records a call and checks its token.
func (c *Collector) admit(ctx context.Context, method string) error {
	var token string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authentication"); len(v) > 0 {
			token = v[0]
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, Call{Method: method, Token: token})
	if c.token != "" && token != c.token {
		return status.Error(codes.Unauthenticated, "oaptest: wrong or missing authentication token")
	}
	return nil
}

func (c *Collector) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.admit(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *Collector) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := c.admit(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// receive records every message of a client stream until its end, then answers.
func receive[M any](c *Collector, recv func() (M, error), closeWith func(*commonv3.Commands) error, keep func(M)) error {
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return closeWith(&commonv3.Commands{})
		}
		if err != nil {
			return err
		}
		c.mu.Lock()
		keep(m)
		c.mu.Unlock()
	}
}

type segmentService struct {
	agentv3.UnimplementedTraceSegmentReportServiceServer
	c *Collector
}

func (s segmentService) Collect(stream agentv3.TraceSegmentReportService_CollectServer) error {
	return receive(s.c, stream.Recv, stream.SendAndClose, func(m *agentv3.SegmentObject) {
		s.c.segments = append(s.c.segments, m)
	})
}

func (s segmentService) CollectInSync(_ context.Context, in *agentv3.SegmentCollection) (*commonv3.Commands, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.segments = append(s.c.segments, in.GetSegments()...)
	return &commonv3.Commands{}, nil
}

type logService struct {
	logv3.UnimplementedLogReportServiceServer
	c *Collector
}

func (s logService) Collect(stream logv3.LogReportService_CollectServer) error {
	return receive(s.c, stream.Recv, stream.SendAndClose, func(m *logv3.LogData) {
		s.c.logs = append(s.c.logs, m)
	})
}

type meterService struct {
	agentv3.UnimplementedMeterReportServiceServer
	c *Collector
}

func (s meterService) Collect(stream agentv3.MeterReportService_CollectServer) error {
	return receive(s.c, stream.Recv, stream.SendAndClose, func(m *agentv3.MeterData) {
		s.c.meters = append(s.c.meters, m)
	})
}

type managementService struct {
	managementv3.UnimplementedManagementServiceServer
	c *Collector
}

func (s managementService) ReportInstanceProperties(_ context.Context, in *managementv3.InstanceProperties) (*commonv3.Commands, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.properties = append(s.c.properties, in)
	return &commonv3.Commands{}, nil
}

func (s managementService) KeepAlive(_ context.Context, in *managementv3.InstancePingPkg) (*commonv3.Commands, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.keepAlives = append(s.c.keepAlives, in)
	return &commonv3.Commands{}, nil
}
