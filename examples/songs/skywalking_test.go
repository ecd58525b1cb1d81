package main

import (
	"context"
	"github.com/strata-go/strata/internal/oaptest"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"

	"github.com/strata-go/strata/layers/skywalking"
)

// collector is the repository's fake OAP (internal/oaptest) and, once snapshot has run,
// what it received, in the shape these tests read.
type collector struct {
	*oaptest.Collector
	addr     string
	segments []*agentv3.SegmentObject
	props    []*managementv3.InstanceProperties
	logs     struct{ records []*logv3.LogData }
	meters   struct{ meters []*agentv3.MeterData }
	// tokens are the "authentication" metadata of every call, by method.
	tokens map[string][]string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	oc := oaptest.Start(t)
	return &collector{Collector: oc, addr: oc.Addr()}
}

// snapshot copies what the collector received so far.
func (c *collector) snapshot() {
	c.segments = c.Segments()
	c.props = c.Properties()
	c.logs.records = c.Logs()
	c.meters.meters = c.Meters()
	c.tokens = map[string][]string{}
	for _, call := range c.Calls() {
		c.tokens[call.Method] = append(c.tokens[call.Method], call.Token)
	}
}

// With SW_AGENT_COLLECTOR_BACKEND_SERVICES set, the demo reports one segment per song
// request, under the service "songs", by the time run returns: the entry span
// "POST /songs" first (span id 0, no parent), the handler's "HTTP request" its child,
// the vendor call and the insert children of that, span ids distinct, the failing
// request's segment marked as an error. The background enrichment (subscriber.Go: a
// span that follows from the request, with no parent) is a segment of its own in the
// request's trace. The vendor's error event arrives as a log record of the failing
// request's vendor span. The demo's own output is unchanged.
func TestDemoExportsASegmentPerRequest(t *testing.T) {
	c := startCollector(t)
	t.Setenv("STRATA_LOG", "")
	t.Setenv(skywalking.EnvCollector, c.addr)
	t.Setenv(skywalking.EnvAuthentication, "songs-token")
	t.Setenv(skywalking.EnvService, "")
	os.Unsetenv(skywalking.EnvService) // the demo's default name, "songs"
	var out syncBuffer
	if err := run("", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.b.String(), `songs_http_request_total{result="error",route="/songs",span_name="HTTP request"} 1`) {
		t.Errorf("the demo's report changed with SkyWalking on:\n%s", out.b.String())
	}

	c.snapshot()
	// Traces, log records, meters and the instance's properties, each call with the token.
	for _, method := range []string{
		"/skywalking.v3.TraceSegmentReportService/collect",
		"/skywalking.v3.LogReportService/collect",
		"/skywalking.v3.MeterReportService/collect",
		"/skywalking.v3.ManagementService/reportInstanceProperties",
	} {
		got := c.tokens[method]
		if len(got) == 0 {
			t.Errorf("no %s call arrived", method)
		}
		for _, tok := range got {
			if tok != "songs-token" {
				t.Errorf("%s carried authentication %q, want the SW_AGENT_AUTHENTICATION token", method, tok)
			}
		}
	}
	// The final meter report (at Shutdown) holds the derived request counter.
	counted := false
	for _, m := range c.meters.meters {
		if sv := m.GetSingleValue(); sv != nil && sv.GetName() == "songs_http_request_total" {
			counted = true
		}
	}
	if !counted {
		t.Errorf("no songs_http_request_total meter among %d meter values", len(c.meters.meters))
	}
	// Each service reports its instance: songs and its two vendors.
	propsOf := map[string]bool{}
	for _, p := range c.props {
		propsOf[p.GetService()] = true
	}
	for _, svc := range []string{"songs", "lastfm", "cdbaby"} {
		if !propsOf[svc] {
			t.Errorf("no instance properties for service %s among %v", svc, c.props)
		}
	}
	var requests []*agentv3.SegmentObject
	vendorSegs := map[string][]*agentv3.SegmentObject{}
	for _, seg := range c.segments {
		switch seg.GetService() {
		case "songs":
		case "lastfm", "cdbaby":
			vendorSegs[seg.GetService()] = append(vendorSegs[seg.GetService()], seg)
			continue
		default:
			t.Errorf("segment of service %q, want songs, lastfm or cdbaby", seg.GetService())
		}
		if first := seg.GetSpans(); len(first) > 0 && first[0].GetOperationName() == "POST /songs" {
			requests = append(requests, seg)
		}
	}
	if len(requests) != 3 {
		t.Fatalf("%d request segments (of %d), want one per song request, 3", len(requests), len(c.segments))
	}
	traces, segments := map[string]bool{}, map[string]bool{}
	// exits are the request segments' exit spans to the vendors, by segment and span id.
	type exitKey struct {
		segment string
		span    int32
	}
	exits := map[exitKey]string{} // → the exit's trace id
	failed := 0
	for _, seg := range requests {
		traces[seg.GetTraceId()] = true
		segments[seg.GetTraceSegmentId()] = true
		byName := map[string]*agentv3.SpanObject{}
		ids := map[int32]bool{}
		for _, sp := range seg.GetSpans() {
			if ids[sp.GetSpanId()] {
				t.Errorf("segment %s: span id %d twice", seg.GetTraceSegmentId(), sp.GetSpanId())
			}
			ids[sp.GetSpanId()] = true
			byName[sp.GetOperationName()] = sp
			if sp.GetSpanType() == agentv3.SpanType_Exit && sp.GetSpanLayer() == agentv3.SpanLayer_Http {
				exits[exitKey{seg.GetTraceSegmentId(), sp.GetSpanId()}] = seg.GetTraceId()
				if n := sp.GetOperationName(); n != "GET lastfm /lookup" && n != "GET cdbaby /lookup" {
					t.Errorf("exit span %q, want it named after its vendor", n)
				}
			}
		}
		entry, req := byName["POST /songs"], byName["HTTP request"]
		if entry.GetSpanId() != 0 || entry.GetParentSpanId() != -1 || entry.GetSpanType() != agentv3.SpanType_Entry {
			t.Errorf("entry span %v: want span 0, parent -1, Entry", entry)
		}
		if req == nil || req.GetParentSpanId() != entry.GetSpanId() {
			t.Fatalf("segment %s: no HTTP request span under the entry: %v", seg.GetTraceSegmentId(), seg.GetSpans())
		}
		vendor := byName["vendor.lastfm.task"]
		if vendor == nil || vendor.GetParentSpanId() != req.GetSpanId() {
			t.Errorf("vendor span %v: want a child of HTTP request (span %d)", vendor, req.GetSpanId())
		}
		if entry.GetIsError() {
			failed++
			if !vendor.GetIsError() || !req.GetIsError() {
				t.Errorf("the failing request: vendor error %v, HTTP request error %v; want both", vendor.GetIsError(), req.GetIsError())
			}
			continue
		}
		if cd := byName["vendor.cdbaby.task"]; cd == nil || cd.GetParentSpanId() != req.GetSpanId() {
			t.Errorf("span vendor.cdbaby.task %v: want a child of HTTP request (span %d)", cd, req.GetSpanId())
		}
		db := byName["record.save_event"]
		if db == nil || db.GetParentSpanId() != req.GetSpanId() {
			t.Errorf("span record.save_event %v: want a child of HTTP request (span %d)", db, req.GetSpanId())
		} else if db.GetSpanType() != agentv3.SpanType_Exit || db.GetSpanLayer() != agentv3.SpanLayer_Database {
			t.Errorf("span record.save_event is %v in layer %v, want an Exit span in Database", db.GetSpanType(), db.GetSpanLayer())
		}
	}
	if failed != 1 {
		t.Errorf("%d request segments marked as errors, want the vendor's rejection, 1", failed)
	}
	if len(traces) != 3 || len(segments) != 3 {
		t.Errorf("%d trace ids and %d segment ids for 3 requests, want 3 of each", len(traces), len(segments))
	}
	// The vendors are services of their own: a segment per call (last.fm for every
	// request, CD Baby for the two last.fm knew), whose entry span refers to the request's
	// exit span with a CrossProcess reference, in the same trace.
	if len(exits) != 5 {
		t.Errorf("%d exit spans to vendors in the request segments, want 5", len(exits))
	}
	for svc, want := range map[string]int{"lastfm": 3, "cdbaby": 2} {
		if got := len(vendorSegs[svc]); got != want {
			t.Errorf("%d segments of service %s, want %d", got, svc, want)
		}
		for _, seg := range vendorSegs[svc] {
			entry := seg.GetSpans()[0]
			if entry.GetSpanType() != agentv3.SpanType_Entry || entry.GetOperationName() != "GET /lookup" || len(entry.GetRefs()) != 1 {
				t.Errorf("%s segment's first span %v: want the Entry span GET /lookup with one reference", svc, entry)
				continue
			}
			ref := entry.GetRefs()[0]
			trace, ok := exits[exitKey{ref.GetParentTraceSegmentId(), ref.GetParentSpanId()}]
			if ref.GetRefType() != agentv3.RefType_CrossProcess || !ok || ref.GetParentService() != "songs" ||
				trace != seg.GetTraceId() || ref.GetTraceId() != seg.GetTraceId() {
				t.Errorf("%s segment %s: reference %v, want CrossProcess to an exit span of a songs request in trace %s", svc, seg.GetTraceSegmentId(), ref, seg.GetTraceId())
			}
			delete(exits, exitKey{ref.GetParentTraceSegmentId(), ref.GetParentSpanId()})
		}
	}
	if len(exits) != 0 {
		t.Errorf("exit spans no vendor segment refers to: %v", exits)
	}
	// CD Baby's failure is a log record of the cdbaby service, in its segment.
	var cdbabyLogs int
	for _, rec := range c.logs.records {
		if rec.GetService() == "cdbaby" {
			cdbabyLogs++
			if !strings.Contains(rec.GetBody().GetText().GetText(), "lookup failed") || rec.GetTraceContext().GetTraceSegmentId() == "" {
				t.Errorf("cdbaby log record %v: want the lookup failure, in a segment", rec)
			}
		}
	}
	if cdbabyLogs != 1 {
		t.Errorf("%d log records of service cdbaby, want its one failure", cdbabyLogs)
	}
	enriched := 0
	for _, seg := range c.segments {
		if spans := seg.GetSpans(); len(spans) == 1 && spans[0].GetOperationName() == "song.enrich" {
			enriched++
			if !traces[seg.GetTraceId()] || segments[seg.GetTraceSegmentId()] {
				t.Errorf("song.enrich segment %s in trace %s: want a segment of its own in a request's trace", seg.GetTraceSegmentId(), seg.GetTraceId())
			}
		}
	}
	if enriched != 2 {
		t.Errorf("%d song.enrich segments, want one per stored song, 2", enriched)
	}
	var vendorErrors []*logv3.LogData
	for _, rec := range c.logs.records {
		if strings.Contains(rec.GetBody().GetText().GetText(), "vendor request failed") {
			vendorErrors = append(vendorErrors, rec)
		}
	}
	if len(vendorErrors) != 1 {
		t.Fatalf("%d vendor error log records (of %d), want 1", len(vendorErrors), len(c.logs.records))
	}
	tc := vendorErrors[0].GetTraceContext()
	for _, seg := range requests {
		if seg.GetTraceSegmentId() != tc.GetTraceSegmentId() {
			continue
		}
		if seg.GetTraceId() != tc.GetTraceId() || !seg.GetSpans()[0].GetIsError() {
			t.Errorf("the vendor error's log record is in segment %s of trace %s, want the failing request's", tc.GetTraceSegmentId(), tc.GetTraceId())
		}
		for _, sp := range seg.GetSpans() {
			if sp.GetSpanId() == tc.GetSpanId() && sp.GetOperationName() != "vendor.lastfm.task" {
				t.Errorf("the vendor error's log record points at span %q, want vendor.lastfm.task", sp.GetOperationName())
			}
		}
		return
	}
	t.Errorf("the vendor error's log record names segment %q, which is no request's", tc.GetTraceSegmentId())
}

// With -serve, a request that brings an sw8 header from an upstream agent continues that
// trace (its entry span refers to the upstream's exit span), and the vendor calls carry
// the same trace on to the vendors' segments.
func TestServeContinuesAnUpstreamTrace(t *testing.T) {
	c := startCollector(t)
	t.Setenv("STRATA_LOG", "off")
	t.Setenv(skywalking.EnvCollector, c.addr)
	t.Setenv(skywalking.EnvService, "")
	os.Unsetenv(skywalking.EnvService)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runWith(config{serve: "127.0.0.1:0", ctx: ctx, ready: func(a string) { addrs <- a }}, io.Discard)
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("run stopped before serving: %v", err)
	}
	upstream := skywalking.SW8{
		Sampled: true, TraceID: "0123456789abcdef0123456789abcdef",
		ParentSegmentID: "fedcba9876543210fedcba9876543210", ParentSpanID: 3,
		ParentService: "gateway", ParentInstance: "gw-1", ParentEndpoint: "POST /api/songs",
		AddressUsedAtClient: addr,
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/songs", strings.NewReader(`{"artist":"Nina Simone","title":"Sinnerman"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("sw8", upstream.Encode())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /songs: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	c.snapshot()
	services := map[string]int{}
	for _, seg := range c.segments {
		if seg.GetTraceId() != upstream.TraceID {
			t.Errorf("segment of %s in trace %s, want the upstream's %s", seg.GetService(), seg.GetTraceId(), upstream.TraceID)
		}
		services[seg.GetService()]++
		first := seg.GetSpans()[0]
		if seg.GetService() == "songs" && first.GetOperationName() == "POST /songs" {
			refs := first.GetRefs()
			if len(refs) != 1 || refs[0].GetRefType() != agentv3.RefType_CrossProcess ||
				refs[0].GetParentTraceSegmentId() != upstream.ParentSegmentID || refs[0].GetParentSpanId() != upstream.ParentSpanID ||
				refs[0].GetParentService() != "gateway" {
				t.Errorf("the request's entry refers to %v, want the upstream's exit span", refs)
			}
		}
		if s := seg.GetService(); s == "lastfm" || s == "cdbaby" {
			if refs := first.GetRefs(); len(refs) != 1 || refs[0].GetRefType() != agentv3.RefType_CrossProcess || refs[0].GetParentService() != "songs" {
				t.Errorf("%s segment refers to %v, want a CrossProcess reference to songs", s, refs)
			}
		}
	}
	if services["lastfm"] != 1 || services["cdbaby"] != 1 || services["songs"] < 1 {
		t.Errorf("segments by service %v, want songs, and one each of lastfm and cdbaby", services)
	}
}
