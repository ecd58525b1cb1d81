package subscriber_test

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// headerProp is a toy propagator: "x-trace: <trace>;<parent span name>".
type headerProp struct{ seenRemote string }

func (p *headerProp) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	trace, from, ok := strings.Cut(c.Get("x-trace"), ";")
	if !ok || trace == "" {
		return nil, false
	}
	return &subscriber.RemoteParent{TraceID: registry.ParseTraceID(trace), Propagator: "toy", Data: from}, true
}

func (p *headerProp) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	c.Set("x-trace", span.TraceID().String()+";"+span.Name())
}

func (p *headerProp) OnClose(span subscriber.SpanRef) {
	if r := span.Remote(); r != nil {
		p.seenRemote = r.Data.(string)
	}
}

func TestExtractedRemoteParentIsContinuedByteForByte(t *testing.T) {
	p := &headerProp{}
	d := subscriber.MustNew(p)
	tr := d.Tracer("test")
	for _, upstream := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736",              // 128-bit hex
		"2a5e0c1f8f6c4c2d9c1d6e3f.61.16347101234560001", // Java agent style
		"4BF92F3577B34DA6A3CE929D0E0E4736",              // upper case: kept as is
	} {
		in := subscriber.MapCarrier{"x-trace": upstream + ";checkout"}
		ctx := d.Extract(context.Background(), in)
		ctx, span := tr.Start(ctx, "entry")
		if got := subscriber.TraceID(ctx).String(); got != upstream {
			t.Errorf("trace id = %q, want upstream %q", got, upstream)
		}
		out := subscriber.MapCarrier{}
		d.Inject(ctx, out)
		if want := upstream + ";entry"; out["x-trace"] != want {
			t.Errorf("injected %q, want %q", out["x-trace"], want)
		}
		span.End()
		if p.seenRemote != "checkout" {
			t.Errorf("span's remote parent data = %q, want checkout", p.seenRemote)
		}
	}
}

func TestMalformedCarrierStartsANewTrace(t *testing.T) {
	d := subscriber.MustNew(&headerProp{})
	for _, bad := range []string{"", ";", "no-separator", ";only-parent"} {
		ctx := d.Extract(context.Background(), subscriber.MapCarrier{"x-trace": bad})
		ctx, span := d.Tracer("test").Start(ctx, "entry")
		id := subscriber.TraceID(ctx)
		if id.IsZero() || id.IsRaw() {
			t.Errorf("header %q: trace id %q, want a new 128-bit id", bad, id)
		}
		span.End()
	}
}
