package oap_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
)

// dial dials cfg (Service and Instance defaulted, a quiet log) and closes the client at
// the end of the test.
func dial(t *testing.T, cfg oap.Config) *oap.Client {
	t.Helper()
	if cfg.Service == "" {
		cfg.Service = "songs"
	}
	if cfg.Instance == "" {
		cfg.Instance = "songs-1"
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	c, err := oap.Dial(cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// newPipeline returns a pipeline sending segments through c, with short timings.
func newPipeline(t *testing.T, c *oap.Client, batch int) *pipeline.Pipeline[*agentv3.SegmentObject] {
	t.Helper()
	p := pipeline.New(pipeline.Config{
		Name:          "skywalking segments",
		BatchSize:     batch,
		FlushInterval: 5 * time.Millisecond,
		MinBackoff:    10 * time.Millisecond,
		MaxBackoff:    100 * time.Millisecond,
		SendTimeout:   2 * time.Second,
		Logf:          t.Logf,
	}, pipeline.SenderFunc[*agentv3.SegmentObject](c.SendSegments))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = p.Shutdown(ctx) // the test's own Shutdown, if any, came first
	})
	return p
}

// segment returns a segment with every field set, told apart by i.
func segment(i int) *agentv3.SegmentObject {
	tags := []*commonv3.KeyStringValuePair{{Key: "http.method", Value: "GET"}, {Key: "http.status_code", Value: "200"}}
	return &agentv3.SegmentObject{
		TraceId:         fmt.Sprintf("%032x", 0xabc000+i),
		TraceSegmentId:  fmt.Sprintf("%032x", 0xdef000+i),
		Service:         "songs",
		ServiceInstance: "songs-1",
		IsSizeLimited:   i%2 == 1,
		Spans: []*agentv3.SpanObject{
			{
				SpanId: 0, ParentSpanId: -1, StartTime: 1_700_000_000_000 + int64(i), EndTime: 1_700_000_000_025 + int64(i),
				OperationName: "GET /songs", SpanType: agentv3.SpanType_Entry, SpanLayer: agentv3.SpanLayer_Http,
				ComponentId: 5004, IsError: true, Tags: tags,
				Refs: []*agentv3.SegmentReference{{
					RefType: agentv3.RefType_CrossProcess, TraceId: fmt.Sprintf("%032x", 0xabc000+i),
					ParentTraceSegmentId: "0123456789abcdef0123456789abcdef", ParentSpanId: 3,
					ParentService: "gateway", ParentServiceInstance: "gw-1", ParentEndpoint: "/api/songs",
					NetworkAddressUsedAtPeer: "songs:8080",
				}},
				Logs: []*agentv3.Log{{Time: 1_700_000_000_010, Data: []*commonv3.KeyStringValuePair{{Key: "event", Value: "error"}, {Key: "message", Value: "boom"}}}},
			},
			{
				SpanId: 1, ParentSpanId: 0, StartTime: 1_700_000_000_005, EndTime: 1_700_000_000_020,
				OperationName: "vendor.lastfm", Peer: "ws.audioscrobbler.com:443", SpanType: agentv3.SpanType_Exit,
				SpanLayer: agentv3.SpanLayer_Http, ComponentId: 5005, SkipAnalysis: true,
			},
		},
	}
}

// freeAddr returns a 127.0.0.1 address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// within returns a context that ends after d.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkBalance fails the test unless every segment offered is accounted for.
func checkBalance(t *testing.T, s pipeline.Stats) {
	t.Helper()
	if s.Sent+s.Failed+s.Dropped+uint64(s.Queued) != s.Enqueued {
		t.Fatalf("Sent %d + Failed %d + Dropped %d + Queued %d != Enqueued %d",
			s.Sent, s.Failed, s.Dropped, s.Queued, s.Enqueued)
	}
}

// goroutines returns the number of goroutines once it stops falling (gRPC's goroutines
// end a little after Close returns), waiting at most a few seconds for it to reach want.
func goroutinesSettle(want int) int {
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}
