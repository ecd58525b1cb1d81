package bench

import (
	"context"
	"io"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/SkyAPM/go2sky"
	"github.com/SkyAPM/go2sky/propagation"
	vm "github.com/VictoriaMetrics/metrics"
	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"

	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
)

// The sw8 rows encode the same header to the same text and decode it to the same
// fields.
func TestSW8PeersEncodeAndDecodeTheSameHeader(t *testing.T) {
	tc := goskyHeader()
	s := swHeader.Encode()
	if g := tc.EncodeSW8(); g != s {
		t.Fatalf("go2sky encodes %q, strata %q", g, s)
	}
	if a := string(skywalking.AppendSW8(nil, swHeader)); a != s {
		t.Fatalf("AppendSW8 gives %q, Encode %q", a, s)
	}
	h, err := skywalking.DecodeSW8(s)
	if err != nil || h != swHeader {
		t.Fatalf("strata decodes %+v, %v; want %+v", h, err, swHeader)
	}
	var g propagation.SpanContext
	if err := g.DecodeSW8(s); err != nil {
		t.Fatal(err)
	}
	g.Valid, g.CorrelationContext = false, nil
	if !reflect.DeepEqual(g, tc) {
		t.Fatalf("go2sky decodes %+v, want %+v", g, tc)
	}
}

// Every span of the SkyWalkingSpan rows is exported: the strata row's segments reach
// the collector, the unreachable row's queue holds them all, go2sky's reporter gets
// them all.
func TestSkyWalkingSpanRowsExportEverySpan(t *testing.T) {
	const n = 100
	ctx := context.Background()

	c := startDiscardCollector(t)
	l := newSkyWalking(t, c.addr)
	tr := swTracer(t, "bench", storage.New(), l)
	for range n {
		_, sp := tr.Start(ctx, "op")
		sp.End()
	}
	snapshotSW(l).flush(t)
	if got := c.segments.Load(); got != n {
		t.Errorf("the collector received %d segments, want %d (stats %+v)", got, n, l.Stats())
	}

	u := newSkyWalking(t, unreachableAddr(t), skywalking.WithQueueSize(n))
	utr := swTracer(t, "bench", storage.New(), u)
	for range n {
		_, sp := utr.Start(ctx, "op")
		sp.End()
	}
	if st := u.Stats(); st.Segments != n || st.Queued != n || st.Dropped != 0 {
		t.Errorf("unreachable collector: %+v, want %d segments queued, none dropped", st, n)
	}

	gtr, rep := newGosky(t)
	for range n {
		go2skyStartEnd(t, ctx, gtr)
	}
	rep.wait(t, n)
	if got := rep.spans.Load(); got != n {
		t.Errorf("go2sky reported %d spans, want %d", got, n)
	}
}

// exportedSpan is what the request rows' peers export of a span.
type exportedSpan struct {
	tags map[string]string
	logs []map[string]string
}

// The request rows export the same spans: names, tags, and the event as a log of the
// db span, through Strata's layer (decoded at the collector) and through go2sky.
func TestRequestSkyWalkingPeersExportTheSameSpans(t *testing.T) {
	ctx := context.Background()

	var mu sync.Mutex
	var segs []*agentv3.SegmentObject
	c := startDiscardCollector(t)
	c.decoded = func(b []byte) {
		seg := new(agentv3.SegmentObject)
		if err := proto.Unmarshal(b, seg); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		segs = append(segs, seg)
		mu.Unlock()
	}
	tr, sw := newReadmeSkyWalking(t, io.Discard, c.addr)
	strataRequest(ctx, tr)
	snapshotSW(sw).flush(t)
	mu.Lock()
	if len(segs) != 1 {
		t.Fatalf("strata sent %d segments for one request, want 1", len(segs))
	}
	strata := map[string]exportedSpan{}
	for _, sp := range segs[0].GetSpans() {
		e := exportedSpan{tags: map[string]string{}}
		for _, kv := range sp.GetTags() {
			e.tags[kv.GetKey()] = kv.GetValue()
		}
		for _, lg := range sp.GetLogs() {
			m := map[string]string{}
			for _, kv := range lg.GetData() {
				m[kv.GetKey()] = kv.GetValue()
			}
			e.logs = append(e.logs, m)
		}
		strata[sp.GetOperationName()] = e
	}
	mu.Unlock()

	gtr, rep := newGosky(t)
	var reported []go2sky.ReportedSpan
	rep.keep = func(spans []go2sky.ReportedSpan) { reported = append(reported, spans...) }
	go2skyRequest(t, ctx, gtr, newReqMetric(vm.NewSet()), go2skyZapEvent(zapJSON(io.Discard)))
	rep.wait(t, 1)
	peer := map[string]exportedSpan{}
	for _, sp := range reported {
		e := exportedSpan{tags: map[string]string{}}
		for _, kv := range sp.Tags() {
			e.tags[kv.GetKey()] = kv.GetValue()
		}
		for _, lg := range sp.Logs() {
			m := map[string]string{}
			for _, kv := range lg.GetData() {
				m[kv.GetKey()] = kv.GetValue()
			}
			e.logs = append(e.logs, m)
		}
		peer[sp.OperationName()] = e
	}

	names := slices.Sorted(maps.Keys(strata))
	if got := slices.Sorted(maps.Keys(peer)); !slices.Equal(names, got) {
		t.Fatalf("strata exports spans %v, go2sky %v", names, got)
	}
	for _, name := range names {
		s, g := strata[name], peer[name]
		if !maps.Equal(s.tags, g.tags) {
			t.Errorf("span %q: strata tags %v, go2sky %v", name, s.tags, g.tags)
		}
		if len(s.logs) != len(g.logs) {
			t.Errorf("span %q: strata %d logs, go2sky %d", name, len(s.logs), len(g.logs))
			continue
		}
		for i := range s.logs {
			if !maps.Equal(s.logs[i], g.logs[i]) {
				t.Errorf("span %q log %d: strata %v, go2sky %v", name, i, s.logs[i], g.logs[i])
			}
		}
	}
}
