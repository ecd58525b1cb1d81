package oap_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
)

func TestSegmentsArriveExactlyAsSent(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr()})
	sent := []*agentv3.SegmentObject{segment(0), segment(1), segment(2)}
	if err := c.SendSegments(within(t, 3*time.Second), sent); err != nil {
		t.Fatalf("SendSegments: %v", err)
	}
	got := col.WaitSegments(t, 3, 3*time.Second)
	if len(got) != 3 {
		t.Fatalf("%d segments arrived, want 3", len(got))
	}
	for i := range sent {
		if !proto.Equal(got[i], sent[i]) {
			t.Fatalf("segment %d arrived as\n%v\nsent\n%v", i, got[i], sent[i])
		}
	}
	if n := countCalls(col, oaptest.MethodCollectSegments); n != 1 {
		t.Fatalf("%d Collect streams for one batch, want 1", n)
	}
}

func TestTokenIsSentAsAuthenticationOnEveryCall(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("s3cret")
	c := dial(t, oap.Config{Address: col.Addr(), Token: "s3cret", Heartbeat: 50 * time.Millisecond})
	if err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)}); err != nil {
		t.Fatalf("SendSegments: %v", err)
	}
	col.WaitProperties(t, 1, 3*time.Second)
	col.WaitKeepAlives(t, 2, 3*time.Second)
	for _, m := range []string{oaptest.MethodCollectSegments, oaptest.MethodReportProperties, oaptest.MethodKeepAlive} {
		if countCalls(col, m) == 0 {
			t.Fatalf("no call to %s", m)
		}
	}
	for _, call := range col.Calls() {
		if call.Token != "s3cret" {
			t.Fatalf("%s carried authentication %q, want s3cret", call.Method, call.Token)
		}
	}
}

func TestNoAuthenticationMetadataWithoutToken(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr(), Heartbeat: 50 * time.Millisecond})
	if err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)}); err != nil {
		t.Fatal(err)
	}
	col.WaitKeepAlives(t, 1, 3*time.Second)
	for _, tok := range col.Tokens() {
		if tok != "" {
			t.Fatalf("tokens %q, want none", col.Tokens())
		}
	}
}

func TestWrongTokenIsAnErrorNotARetry(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("right")
	c := dial(t, oap.Config{Address: col.Addr(), Token: "wrong"})
	err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)})
	t.Logf("SendSegments with a wrong token: %v", err)
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("SendSegments error %v, want Unauthenticated", err)
	}
	if pipeline.IsRetry(err) {
		t.Fatalf("a refused token is retryable: %v (the pipeline would resend forever)", err)
	}
	if n := len(col.Segments()); n != 0 {
		t.Fatalf("the collector kept %d segments from a refused call", n)
	}
}

func TestPropertiesAndKeepAlivesArrive(t *testing.T) {
	col := oaptest.Start(t)
	dial(t, oap.Config{
		Address: col.Addr(), Service: "songs", Instance: "songs-7", Layer: "GENERAL", Heartbeat: 50 * time.Millisecond,
		Properties: []*commonv3.KeyStringValuePair{{Key: "hostname", Value: "box-1"}, {Key: "team", Value: "audio"}},
	})
	props := col.WaitProperties(t, 1, 3*time.Second)[0]
	if props.Service != "songs" || props.ServiceInstance != "songs-7" || props.Layer != "GENERAL" {
		t.Fatalf("properties for %q/%q layer %q", props.Service, props.ServiceInstance, props.Layer)
	}
	got := map[string][]string{}
	for _, kv := range props.Properties {
		got[kv.Key] = append(got[kv.Key], kv.Value)
	}
	if !slices.Equal(got["hostname"], []string{"box-1"}) {
		t.Fatalf("hostname %q, want the configured one replacing the default", got["hostname"])
	}
	if !slices.Equal(got["team"], []string{"audio"}) || !slices.Equal(got["language"], []string{"go"}) ||
		len(got["OS Name"]) != 1 || len(got["ipv4"]) == 0 {
		t.Fatalf("properties %v", got)
	}
	if pid := got["Process No."]; len(pid) != 1 || pid[0] == "" {
		t.Fatalf("Process No. %q", pid)
	} else if _, err := strconv.Atoi(pid[0]); err != nil {
		t.Fatalf("Process No. %q is not a number", pid[0])
	}

	start := time.Now()
	pings := col.WaitKeepAlives(t, 4, 3*time.Second)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("4 keepAlives within %v with a 50ms heartbeat", d)
	}
	for _, p := range pings {
		if p.Service != "songs" || p.ServiceInstance != "songs-7" || p.Layer != "GENERAL" {
			t.Fatalf("keepAlive for %q/%q layer %q", p.Service, p.ServiceInstance, p.Layer)
		}
	}
	if n := len(col.Properties()); n != 1 {
		t.Fatalf("properties reported %d times on one connection, want once", n)
	}
}

func TestPropertiesAreReportedAgainAfterTheCollectorRestarts(t *testing.T) {
	col := oaptest.Start(t)
	dial(t, oap.Config{Address: col.Addr(), Heartbeat: 50 * time.Millisecond})
	col.WaitProperties(t, 1, 3*time.Second)
	col.Stop()
	time.Sleep(100 * time.Millisecond)
	restarted := oaptest.StartAt(t, col.Addr())
	restarted.WaitProperties(t, 1, 5*time.Second)
	restarted.WaitKeepAlives(t, 1, 3*time.Second)
}

func TestDefaultPropertiesNameTheProcess(t *testing.T) {
	got := map[string][]string{}
	for _, kv := range oap.DefaultProperties() {
		got[kv.Key] = append(got[kv.Key], kv.Value)
	}
	if len(got["ipv4"]) == 0 || len(got["hostname"]) != 1 || got["language"][0] != "go" ||
		got["OS Name"][0] == "" || got["Process No."][0] == "" {
		t.Fatalf("DefaultProperties() = %v", got)
	}
	for _, ip := range got["ipv4"] {
		if strings.Count(ip, ".") != 3 {
			t.Fatalf("ipv4 %q is not an IPv4 address", ip)
		}
	}
}

func TestLogsAndMetersArrive(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr(), Token: "t"})
	logs := []*logv3.LogData{{Service: "songs", TraceContext: &logv3.TraceContext{TraceId: "abc", SpanId: 1},
		Body: &logv3.LogDataBody{Content: &logv3.LogDataBody_Text{Text: &logv3.TextLog{Text: "hello"}}}}}
	if err := c.SendLogs(within(t, 3*time.Second), logs); err != nil {
		t.Fatal(err)
	}
	meters := []*agentv3.MeterData{{Service: "songs", ServiceInstance: "songs-1",
		Metric: &agentv3.MeterData_SingleValue{SingleValue: &agentv3.MeterSingleValue{Name: "requests", Value: 3}}}}
	if err := c.SendMeters(within(t, 3*time.Second), meters); err != nil {
		t.Fatal(err)
	}
	if got := col.WaitLogs(t, 1, 3*time.Second); !proto.Equal(got[0], logs[0]) {
		t.Fatalf("log arrived as %v", got[0])
	}
	if got := col.Meters(); len(got) != 1 || !proto.Equal(got[0], meters[0]) {
		t.Fatalf("meters arrived as %v", got)
	}
}

func TestSendAfterCloseFailsWithoutRetry(t *testing.T) {
	col := oaptest.Start(t)
	c, err := oap.Dial(oap.Config{Address: col.Addr(), Service: "s", Instance: "i", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(within(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	err = c.SendSegments(context.Background(), []*agentv3.SegmentObject{segment(0)})
	if !errors.Is(err, oap.ErrClosed) || pipeline.IsRetry(err) {
		t.Fatalf("SendSegments after Close: %v", err)
	}
	if err := c.Close(within(t, time.Second)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDialRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  oap.Config
		want string
	}{
		{oap.Config{Service: "s", Instance: "i"}, "collector address is empty"},
		{oap.Config{Address: "oap", Service: "s", Instance: "i"}, `collector address "oap": want host:port`},
		{oap.Config{Address: "oap:11800,:", Service: "s", Instance: "i"}, `collector address ":"`},
		{oap.Config{Address: "oap:11800", Instance: "i"}, "service name is empty"},
		{oap.Config{Address: "oap:11800", Service: "s"}, "instance name is empty"},
	} {
		c, err := oap.Dial(tc.cfg)
		if err == nil {
			c.Close(context.Background())
			t.Fatalf("Dial(%+v) succeeded", tc.cfg)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("Dial(%+v) error %q, want it to say %q", tc.cfg, err, tc.want)
		}
	}
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	col := oaptest.Start(t)
	before := runtime.NumGoroutine()
	for range 3 {
		c, err := oap.Dial(oap.Config{Address: col.Addr(), Service: "s", Instance: "i", Heartbeat: 20 * time.Millisecond, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		col.WaitKeepAlives(t, 1, 3*time.Second)
		if err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)}); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(within(t, 3*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := goroutinesSettle(before); n > before {
		t.Fatalf("%d goroutines after Close, %d before Dial", n, before)
	}
}

func countCalls(col *oaptest.Collector, method string) int {
	n := 0
	for _, c := range col.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

func TestTLSConnectionCarriesSegmentsAndToken(t *testing.T) {
	col, tlsCfg := oaptest.StartTLS(t)
	c := dial(t, oap.Config{Address: col.Addr(), TLS: tlsCfg, Token: "s3cret", Heartbeat: 50 * time.Millisecond})
	if err := c.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(0)}); err != nil {
		t.Fatalf("SendSegments over TLS: %v", err)
	}
	if got := col.WaitSegments(t, 1, 3*time.Second); !proto.Equal(got[0], segment(0)) {
		t.Fatalf("segment arrived as %v", got[0])
	}
	col.WaitKeepAlives(t, 1, 3*time.Second)
	for _, tok := range col.Tokens() {
		if tok != "s3cret" {
			t.Fatalf("tokens %q", col.Tokens())
		}
	}

	// A plaintext client cannot talk to it, and is told to retry.
	plain := dial(t, oap.Config{Address: col.Addr(), Logf: func(string, ...any) {}})
	if err := plain.SendSegments(within(t, 3*time.Second), []*agentv3.SegmentObject{segment(1)}); !pipeline.IsRetry(err) {
		t.Fatalf("plaintext SendSegments to a TLS collector: %v, want a Retry error", err)
	}
}
