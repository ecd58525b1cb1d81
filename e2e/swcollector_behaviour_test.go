package e2e

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"
)

func dialCollector(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// What the collector does with each SkyWalking service an agent calls: segments on the
// Collect stream are translated into spans; instance properties and keepAlive are
// accepted and answered with no commands; a meter stream is answered at once without
// being read; logs are not a service it serves. The same for the contrib receiver and
// its loopback stand-in (see swcollector_test.go).
func TestSkyWalkingCollectorBehaviour(t *testing.T) {
	c := startSWCollector(t)
	t.Logf("collector at %s (contrib receiver itself: %v)", c.Addr, c.Receiver)
	cc := dialCollector(t, c.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const (
		traceID       = "0af7651916cd43dd8448eb211c80319c"
		segmentID     = "b7ad6b7169203331b7ad6b7169203331"
		parentSegment = "00f067aa0ba902b700f067aa0ba902b7"
	)
	seg := &agentv3.SegmentObject{
		TraceId:         traceID,
		TraceSegmentId:  segmentID,
		Service:         "back",
		ServiceInstance: "back-1",
		Spans: []*agentv3.SpanObject{
			{
				SpanId: 0, ParentSpanId: -1, StartTime: 1_700_000_000_000, EndTime: 1_700_000_000_020,
				OperationName: "GET /songs", SpanType: agentv3.SpanType_Entry, SpanLayer: agentv3.SpanLayer_Http,
				ComponentId: 5004,
				Refs: []*agentv3.SegmentReference{{
					RefType: agentv3.RefType_CrossProcess, TraceId: traceID,
					ParentTraceSegmentId: parentSegment, ParentSpanId: 2,
					ParentService: "front", ParentServiceInstance: "front-1", ParentEndpoint: "GET /",
					NetworkAddressUsedAtPeer: "127.0.0.1:8080",
				}},
				Tags: []*commonv3.KeyStringValuePair{{Key: "http.method", Value: "GET"}},
			},
			{
				SpanId: 1, ParentSpanId: 0, StartTime: 1_700_000_000_005, EndTime: 1_700_000_000_015,
				OperationName: "db.insert", SpanType: agentv3.SpanType_Local, IsError: true,
				Logs: []*agentv3.Log{{Time: 1_700_000_000_010, Data: []*commonv3.KeyStringValuePair{
					{Key: "event", Value: "error"}, {Key: "message", Value: "disk full"},
				}}},
			},
		},
	}
	stream, err := agentv3.NewTraceSegmentReportServiceClient(cc).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(seg); err != nil {
		t.Fatal(err)
	}
	if cmds, err := stream.CloseAndRecv(); err != nil || len(cmds.GetCommands()) != 0 {
		t.Fatalf("Collect answered %v, %v; want no commands and no error", cmds, err)
	}

	spans := c.WaitSpans(t, 2, 5*time.Second)
	entry := findSpan(t, spans, "back", "GET /songs")
	local := findSpan(t, spans, "back", "db.insert")
	if got := entry.TraceID().String(); got != traceID {
		t.Errorf("trace id %s, want the segment's %s", got, traceID)
	}
	if entry.Instance != "back-1" {
		t.Errorf("service.instance.id %q, want back-1", entry.Instance)
	}
	// The entry's parent is the span the ref names in the calling segment; the local
	// span's parent is the entry. Span ids are derived from segment id and span id.
	if entry.ParentSpanID() != spanIDOf(parentSegment, 2) || entry.SpanID() != spanIDOf(segmentID, 0) {
		t.Errorf("entry span %s parent %s, want %s parent %s", entry.SpanID(), entry.ParentSpanID(), spanIDOf(segmentID, 0), spanIDOf(parentSegment, 2))
	}
	if local.ParentSpanID() != entry.SpanID() {
		t.Errorf("local span's parent %s, want the entry %s", local.ParentSpanID(), entry.SpanID())
	}
	if entry.Kind() != ptrace.SpanKindServer || local.Kind() != ptrace.SpanKindInternal {
		t.Errorf("kinds %s, %s; want Server, Internal", entry.Kind(), local.Kind())
	}
	if v, _ := entry.Attr("http.method"); v != "GET" {
		t.Errorf("http.method tag = %q, want GET", v)
	}
	if entry.Status().Code() != ptrace.StatusCodeOk || local.Status().Code() != ptrace.StatusCodeError {
		t.Errorf("status %s, %s; want Ok, Error", entry.Status().Code(), local.Status().Code())
	}
	if got := entry.EndTimestamp().AsTime().Sub(entry.StartTimestamp().AsTime()); got != 20*time.Millisecond {
		t.Errorf("entry lasted %v, want 20ms (times are milliseconds)", got)
	}
	if local.Events().Len() != 1 {
		t.Fatalf("%d events on the local span, want its one log", local.Events().Len())
	}
	if v, _ := local.Events().At(0).Attributes().Get("message"); v.AsString() != "disk full" {
		t.Errorf("log message = %q, want disk full", v.AsString())
	}
	if entry.Links().Len() != 1 {
		t.Fatalf("%d links on the entry span, want its one ref", entry.Links().Len())
	}
	if v, _ := entry.Links().At(0).Attributes().Get("refType"); v.AsString() != "CrossProcess" {
		t.Errorf("ref link refType = %q, want CrossProcess", v.AsString())
	}

	mgmt := managementv3.NewManagementServiceClient(cc)
	props := &managementv3.InstanceProperties{Service: "back", ServiceInstance: "back-1",
		Properties: []*commonv3.KeyStringValuePair{{Key: "language", Value: "go"}}}
	if cmds, err := mgmt.ReportInstanceProperties(ctx, props); err != nil || len(cmds.GetCommands()) != 0 {
		t.Errorf("ReportInstanceProperties answered %v, %v; want no commands and no error", cmds, err)
	}
	ping := &managementv3.InstancePingPkg{Service: "back", ServiceInstance: "back-1"}
	if cmds, err := mgmt.KeepAlive(ctx, ping); err != nil || len(cmds.GetCommands()) != 0 {
		t.Errorf("KeepAlive answered %v, %v; want no commands and no error", cmds, err)
	}

	// The meter stream's handler returns without reading or answering: what an agent
	// sees is recorded here, so that a meter reporter knows it.
	meters, err := agentv3.NewMeterReportServiceClient(cc).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendErr := meters.Send(&agentv3.MeterData{Service: "back", ServiceInstance: "back-1"})
	_, recvErr := meters.CloseAndRecv()
	t.Logf("meter Collect: Send error %v, CloseAndRecv error %v", sendErr, recvErr)
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		t.Errorf("meter Send: %v, want nil or io.EOF", sendErr)
	}
	if status.Code(recvErr) != codes.Internal {
		t.Errorf("meter CloseAndRecv: %v, want codes.Internal (a client stream answered without a response)", recvErr)
	}

	logs, err := logv3.NewLogReportServiceClient(cc).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = logs.Send(&logv3.LogData{Service: "back"})
	if _, err := logs.CloseAndRecv(); status.Code(err) != codes.Unimplemented {
		t.Errorf("log Collect: %v, want Unimplemented", err)
	}
	if n := len(c.Spans()); n != 2 {
		t.Errorf("%d spans after the other calls, want the segment's 2", n)
	}
}

// spanIDOf is the translator's span id for span spanID of segment: the segment id's 16
// bytes, the span id XORed into the first 4, then the halves XORed.
func spanIDOf(segment string, spanID uint32) [8]byte {
	var uid [16]byte
	if _, err := hex.Decode(uid[:], []byte(segment)); err != nil {
		panic(err)
	}
	for i := range 4 {
		uid[i] ^= byte(spanID >> (8 * i))
	}
	var id [8]byte
	for i := range 8 {
		id[i] = uid[i] ^ uid[i+8]
	}
	return id
}
