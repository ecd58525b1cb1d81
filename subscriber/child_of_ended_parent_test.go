package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

type parentProbe struct {
	ids    map[string]registry.SpanID
	parent map[string]registry.SpanID
	ended  map[string]bool
}

func (p *parentProbe) OnNewSpan(s subscriber.SpanRef, _ []slog.Attr) {
	p.ids[s.Name()] = s.ID()
	p.parent[s.Name()] = s.ParentID()
	p.ended[s.Name()] = s.ParentEnded()
}

// A span started from the ctx of a span that already ended (the goroutine a handler
// starts and that outlives the request) keeps its trace and its parent's span id, and
// layers can tell it from a true root; while the parent lives nothing changes.
func TestChildOfAnEndedParentKeepsItsParentIDAndIsNoRoot(t *testing.T) {
	p := &parentProbe{ids: map[string]registry.SpanID{}, parent: map[string]registry.SpanID{}, ended: map[string]bool{}}
	d := subscriber.MustNew(p)
	tr := d.Tracer("test")
	rctx, req := tr.Start(context.Background(), "request")
	_, alive := tr.Start(rctx, "alive-child")
	alive.End()
	req.End() // the request is over; its record is gone
	if d.Registry().Live() != 0 {
		t.Fatalf("Live() = %d, want 0 before the late child", d.Registry().Live())
	}
	lctx, late := tr.Start(rctx, "late-child")
	if subscriber.TraceID(lctx) != subscriber.TraceID(rctx) {
		t.Error("the late child left the request's trace")
	}
	late.End()

	if p.parent["request"] != 0 || p.ended["request"] {
		t.Errorf("root: ParentID=%v ParentEnded=%v, want 0, false", p.parent["request"], p.ended["request"])
	}
	if p.parent["alive-child"] != p.ids["request"] || p.ended["alive-child"] {
		t.Errorf("child of a live parent: ParentID=%v ParentEnded=%v, want %v, false", p.parent["alive-child"], p.ended["alive-child"], p.ids["request"])
	}
	if p.parent["late-child"] != p.ids["request"] || !p.ended["late-child"] {
		t.Errorf("child of an ended parent: ParentID=%v ParentEnded=%v, want %v, true", p.parent["late-child"], p.ended["late-child"], p.ids["request"])
	}
}
