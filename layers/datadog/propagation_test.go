package datadog_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// Extract reads dd-trace-go's headers: the 128-bit trace id from _dd.p.tid and
// x-datadog-trace-id, the parent id, the priority, the origin and the _dd.p.* tags.
func TestExtractReadsDatadogHeaders(t *testing.T) {
	p := datadog.Propagator()
	rp, ok := p.Extract(subscriber.MapCarrier{
		"x-datadog-trace-id":          "1311768467463790320",
		"x-datadog-parent-id":         "42",
		"x-datadog-sampling-priority": "-1",
		"x-datadog-origin":            "synthetics",
		"x-datadog-tags":              "_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000,other=x",
	})
	if !ok {
		t.Fatal("Extract refused valid headers")
	}
	if got, want := rp.TraceID.String(), "640cfd8d00000000"+fmt.Sprintf("%016x", uint64(1311768467463790320)); got != want {
		t.Errorf("trace id %s, want %s", got, want)
	}
	r := rp.Data.(*datadog.Remote)
	if rp.SpanID != 42 || rp.Sampled || rp.Propagator != "datadog" || r.Priority != -1 || !r.HasPriority ||
		r.Origin != "synthetics" || r.Tags != "_dd.p.dm=-4" || r.TraceIDHigh != 0x640cfd8d00000000 {
		t.Errorf("remote parent %+v, data %+v", rp, r)
	}
	rp, ok = p.Extract(subscriber.MapCarrier{"x-datadog-trace-id": "7", "x-datadog-parent-id": "8"})
	if !ok || !rp.Sampled || rp.TraceID.String() != "00000000000000000000000000000007" {
		t.Errorf("headers without priority or tid: %+v %v, want sampled, trace 0…07", rp, ok)
	}
	if p.MalformedHeaders() != 0 {
		t.Errorf("MalformedHeaders = %d after valid headers", p.MalformedHeaders())
	}
}

// Malformed headers start a new trace and are counted; a carrier without Datadog
// headers is not malformed.
func TestExtractRefusesMalformedHeaders(t *testing.T) {
	p := datadog.Propagator()
	cases := []map[string]string{
		{"x-datadog-trace-id": "abc", "x-datadog-parent-id": "1"},
		{"x-datadog-trace-id": "0", "x-datadog-parent-id": "1"},
		{"x-datadog-trace-id": "-5", "x-datadog-parent-id": "1"},
		{"x-datadog-trace-id": "+5", "x-datadog-parent-id": "1"},
		{"x-datadog-trace-id": "18446744073709551616", "x-datadog-parent-id": "1"},
		{"x-datadog-trace-id": "5"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "0"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1 "},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-sampling-priority": "yes"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-tags": "_dd.p.tid=xyz"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-tags": "_dd.p.tid=640CFD8D00000000"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-tags": "_dd.p.tid=640cfd8d0000000"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-tags": "novalue"},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-tags": "_dd.p.a=" + strings.Repeat("x", 600)},
		{"x-datadog-trace-id": "5", "x-datadog-parent-id": "1", "x-datadog-origin": strings.Repeat("o", 300)},
	}
	for _, c := range cases {
		if rp, ok := p.Extract(subscriber.MapCarrier(c)); ok || rp != nil {
			t.Errorf("Extract(%v) = %+v, true; want false", c, rp)
		}
	}
	if got := p.MalformedHeaders(); got != uint64(len(cases)) {
		t.Errorf("MalformedHeaders = %d, want %d", got, len(cases))
	}
	if _, ok := p.Extract(subscriber.MapCarrier{"traceparent": "x"}); ok {
		t.Error("Extract found a parent without Datadog headers")
	}
	if got := p.MalformedHeaders(); got != uint64(len(cases)) {
		t.Errorf("a carrier without Datadog headers counted as malformed")
	}
}

// What Inject writes, Extract reads back: the same trace id, the span as parent, the
// priority, the origin and tags received upstream passed on.
func TestInjectExtractRoundTrip(t *testing.T) {
	p := datadog.Propagator()
	d := subscriber.MustNew(storage.New(), closeCounter{}, p)
	tr := d.Tracer("test")

	// A new trace: a 128-bit id, priority 1.
	ctx, s := tr.Start(context.Background(), "root")
	c := subscriber.MapCarrier{}
	d.Inject(ctx, c)
	id, _ := s.TraceID().Bytes()
	if !strings.HasPrefix(c["x-datadog-tags"], "_dd.p.tid=") || c["x-datadog-sampling-priority"] != "1" ||
		c["x-datadog-parent-id"] != strconv.FormatUint(uint64(s.ID()), 10) {
		t.Errorf("injected %v", c)
	}
	rp, ok := p.Extract(c)
	if !ok || rp.TraceID.String() != s.TraceID().String() || rp.SpanID != uint64(s.ID()) || !rp.Sampled {
		t.Errorf("round trip of %x/%d gave %+v %v", id, s.ID(), rp, ok)
	}
	s.End()

	// A continued trace passes on what it received.
	in := subscriber.MapCarrier{"x-datadog-trace-id": "99", "x-datadog-parent-id": "5", "x-datadog-sampling-priority": "0",
		"x-datadog-origin": "rum", "x-datadog-tags": "_dd.p.dm=-1,_dd.p.tid=00000000000000ab"}
	ctx = d.Extract(context.Background(), in)
	ctx, s = tr.Start(ctx, "entry")
	cctx, child := tr.Start(ctx, "call")
	out := subscriber.MapCarrier{}
	d.Inject(cctx, out)
	want := subscriber.MapCarrier{"x-datadog-trace-id": "99", "x-datadog-parent-id": strconv.FormatUint(uint64(child.ID()), 10),
		"x-datadog-sampling-priority": "0", "x-datadog-origin": "rum", "x-datadog-tags": "_dd.p.dm=-1,_dd.p.tid=00000000000000ab"}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("injected %v, want %v", out, want)
	}
	rp, ok = p.Extract(out)
	if !ok || rp.TraceID.String() != "00000000000000ab0000000000000063" || rp.Sampled {
		t.Errorf("extracted %+v %v", rp, ok)
	}
	child.End()
	s.End()
}

// closeCounter is a layer that wants every span, so that spans record with only a
// propagator composed.
type closeCounter struct{}

func (closeCounter) OnClose(subscriber.SpanRef) {}
