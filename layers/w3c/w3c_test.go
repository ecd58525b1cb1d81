package w3c_test

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/w3c"
	"github.com/strata-go/strata/subscriber"
)

// recorder is a layer with one hook, so that spans are enabled.
type recorder struct{}

func (recorder) OnClose(subscriber.SpanRef) {}

// A traceparent from an OpenTelemetry caller is continued (same trace id), and a call
// made inside carries a traceparent with the span's id as parent and the caller's
// tracestate.
func TestContinueAndPassOn(t *testing.T) {
	d := subscriber.MustNew(recorder{}, w3c.New())
	tr := d.Tracer("t")
	in := subscriber.MapCarrier{
		w3c.HeaderTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		w3c.HeaderTracestate:  "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
	}
	ctx := d.Extract(context.Background(), in)
	rp := subscriber.RemoteFromContext(ctx)
	if rp == nil || rp.Propagator != "w3c" || !rp.Sampled || rp.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("remote parent %+v", rp)
	}
	if r := rp.Data.(*w3c.Remote); r.ParentID != [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7} {
		t.Errorf("parent id %x", r.ParentID)
	}
	ctx, root := tr.Start(ctx, "server")
	cctx, child := tr.Start(ctx, "client")
	out := subscriber.MapCarrier{}
	d.Inject(cctx, out)
	tp, err := w3c.ParseTraceparent(out[w3c.HeaderTraceparent])
	if err != nil {
		t.Fatalf("injected %q: %v", out[w3c.HeaderTraceparent], err)
	}
	if got := out[w3c.HeaderTraceparent]; !strings.HasPrefix(got, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || !strings.HasSuffix(got, "-01") {
		t.Errorf("traceparent %q", got)
	}
	var want [8]byte
	for i, id := 7, uint64(child.ID()); i >= 0; i, id = i-1, id>>8 {
		want[i] = byte(id)
	}
	if tp.ParentID != want {
		t.Errorf("parent id %x, want the child span's %x", tp.ParentID, want)
	}
	if out[w3c.HeaderTracestate] != in[w3c.HeaderTracestate] {
		t.Errorf("tracestate %q, want %q", out[w3c.HeaderTracestate], in[w3c.HeaderTracestate])
	}
	child.End()
	root.End()
	if n := d.Registry().Live(); n != 0 {
		t.Errorf("%d records live", n)
	}
}

// A trace with a non-W3C id (a SkyWalking caller's) gets no traceparent; a new trace
// gets one without tracestate.
func TestInjectOnlyW3CIds(t *testing.T) {
	d := subscriber.MustNew(recorder{}, w3c.New())
	tr := d.Tracer("t")
	rp := &subscriber.RemoteParent{TraceID: registryTrace("a1b2.36.1698"), Propagator: "sw8"}
	ctx, sp := tr.Start(subscriber.ContextWithRemote(context.Background(), rp), "x")
	out := subscriber.MapCarrier{}
	d.Inject(ctx, out)
	if len(out) != 0 {
		t.Errorf("injected %v for a non-W3C trace id", out)
	}
	sp.End()
	ctx, sp = tr.Start(context.Background(), "new")
	d.Inject(ctx, out)
	if _, err := w3c.ParseTraceparent(out[w3c.HeaderTraceparent]); err != nil || out[w3c.HeaderTracestate] != "" {
		t.Errorf("new trace injected %v (%v)", out, err)
	}
	sp.End()
}

func TestParseTraceparent(t *testing.T) {
	good := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if tp, err := w3c.ParseTraceparent(good); err != nil || tp.String() != good || !tp.Sampled() {
		t.Errorf("ParseTraceparent(%q) = %+v, %v", good, tp, err)
	}
	// A later version may append fields.
	if tp, err := w3c.ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever"); err != nil || tp.Sampled() {
		t.Errorf("future version: %+v, %v", tp, err)
	}
	for _, bad := range []string{
		"", good[:54], good + "-", "ff" + good[2:], "0x" + good[2:],
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00x",
	} {
		if tp, err := w3c.ParseTraceparent(bad); err == nil {
			t.Errorf("ParseTraceparent(%q) = %+v, want an error", bad, tp)
		}
	}
}

// FuzzParseTraceparent checks that parsing never panics and that what it accepts
// writes back (as version 00) to a header that parses to the same ids and flags.
func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := w3c.ParseTraceparent(s)
		if err != nil {
			return
		}
		again, err := w3c.ParseTraceparent(tp.String())
		if err != nil || again.TraceID != tp.TraceID || again.ParentID != tp.ParentID || again.Flags != tp.Flags {
			t.Fatalf("ParseTraceparent(%q) = %+v; written back %q gives %+v, %v", s, tp, tp.String(), again, err)
		}
	})
}
