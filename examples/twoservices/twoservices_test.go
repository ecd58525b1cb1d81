package twoservices

import (
	"context"
	"github.com/strata-go/strata/internal/oaptest"
	"io"
	"net/http"
	"os"
	"testing"

	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"

	"github.com/strata-go/strata/layers/skywalking"
)

// collector is the repository's fake OAP (internal/oaptest) and, once snapshot has run,
// the segments and instance properties it received.
type collector struct {
	*oaptest.Collector
	segments []*agentv3.SegmentObject
	props    []*managementv3.InstanceProperties
}

func startCollector(t *testing.T) (*collector, string) {
	t.Helper()
	oc := oaptest.Start(t)
	return &collector{Collector: oc}, oc.Addr()
}

// snapshot copies what the collector received so far.
func (c *collector) snapshot() {
	c.segments = c.Segments()
	c.props = c.Properties()
}

// start runs one service on a goroutine and returns its address; stopping ctx stops it,
// and the returned channel gets run's error once it has flushed.
func start(t *testing.T, ctx context.Context, run func(ctx context.Context, ready func(string)) error) (string, <-chan error) {
	t.Helper()
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(a string) { addrs <- a }) }()
	select {
	case a := <-addrs:
		return a, done
	case err := <-done:
		t.Fatalf("the service stopped before serving: %v", err)
		return "", nil
	}
}

// front and back, each with its own dispatch and SkyWalking layer, report one trace:
// front's segment (entry GET /hello, an exit span to back) and back's (entry GET /work),
// whose entry refers to front's exit span with a CrossProcess reference.
func TestOneTraceAcrossBothServices(t *testing.T) {
	c, addr := startCollector(t)
	t.Setenv("STRATA_LOG", "")
	t.Setenv(skywalking.EnvCollector, addr)
	t.Setenv(skywalking.EnvService, "")
	os.Unsetenv(skywalking.EnvService) // the defaults: front and back

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backAddr, backDone := start(t, ctx, func(ctx context.Context, ready func(string)) error {
		return RunBack(ctx, "127.0.0.1:0", io.Discard, ready)
	})
	frontAddr, frontDone := start(t, ctx, func(ctx context.Context, ready func(string)) error {
		return RunFront(ctx, "127.0.0.1:0", "http://"+backAddr, io.Discard, ready)
	})
	resp, err := http.Get("http://" + frontAddr + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /hello: %s %s", resp.Status, body)
	}
	cancel() // both shut down, flushing their segments
	if err := <-frontDone; err != nil {
		t.Fatalf("front: %v", err)
	}
	if err := <-backDone; err != nil {
		t.Fatalf("back: %v", err)
	}

	c.snapshot()
	bySvc := map[string][]*agentv3.SegmentObject{}
	for _, seg := range c.segments {
		bySvc[seg.GetService()] = append(bySvc[seg.GetService()], seg)
	}
	if len(bySvc["front"]) != 1 || len(bySvc["back"]) != 1 || len(c.segments) != 2 {
		t.Fatalf("segments by service %v, want one of front and one of back", bySvc)
	}
	front, back := bySvc["front"][0], bySvc["back"][0]
	if front.GetTraceId() != back.GetTraceId() {
		t.Errorf("front's trace %s, back's %s: want one trace", front.GetTraceId(), back.GetTraceId())
	}
	if sp := front.GetSpans(); len(sp) == 0 || sp[0].GetOperationName() != "GET /hello" || sp[0].GetSpanType() != agentv3.SpanType_Entry {
		t.Errorf("front's spans %v: want the entry GET /hello first", sp)
	}
	var exit *agentv3.SpanObject
	for _, sp := range front.GetSpans() {
		if sp.GetSpanType() == agentv3.SpanType_Exit {
			exit = sp
		}
	}
	if exit == nil {
		t.Fatalf("front's segment has no exit span: %v", front.GetSpans())
	}
	entry := back.GetSpans()[0]
	if entry.GetOperationName() != "GET /work" || entry.GetSpanType() != agentv3.SpanType_Entry || len(entry.GetRefs()) != 1 {
		t.Fatalf("back's first span %v: want the entry GET /work with one reference", entry)
	}
	ref := entry.GetRefs()[0]
	if ref.GetRefType() != agentv3.RefType_CrossProcess || ref.GetTraceId() != front.GetTraceId() ||
		ref.GetParentTraceSegmentId() != front.GetTraceSegmentId() || ref.GetParentSpanId() != exit.GetSpanId() ||
		ref.GetParentService() != "front" || ref.GetParentEndpoint() != "GET /hello" {
		t.Errorf("back's reference %v: want CrossProcess to front's exit span %d in segment %s", ref, exit.GetSpanId(), front.GetTraceSegmentId())
	}
	services := map[string]bool{}
	for _, p := range c.props {
		services[p.GetService()] = true
	}
	if !services["front"] || !services["back"] {
		t.Errorf("instance properties for %v, want front and back", services)
	}
}
