package subscriber_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

func TestParentEndedBeforeChildIsReadableInChildClose(t *testing.T) {
	var parentName, parentField string
	var parentClosed bool
	var sawParent bool
	probe := &closeProbe{fn: func(s subscriber.SpanRef) {
		if s.Name() != "child" {
			return
		}
		p := s.Parent()
		sawParent = !p.IsZero()
		parentName = p.Name()
		v, _ := p.Field("user")
		parentField = v.String()
		parentClosed = p.Closed()
	}}
	d := subscriber.MustNew(probe)
	tr := d.Tracer("test")

	ctx, parent := tr.Start(context.Background(), "parent", slog.String("user", "ada"))
	_, child := tr.Start(ctx, "child")
	parent.End()
	// Churn the pool: if the parent's record were recycled, these spans would reuse it.
	for i := 0; i < 100; i++ {
		_, s := tr.Start(context.Background(), "churn", slog.String("user", "mallory"))
		s.End()
	}
	child.End()

	if !sawParent || parentName != "parent" || parentField != "ada" || !parentClosed {
		t.Fatalf("in child's close: parent seen=%v name=%q user=%q closed=%v; want true, parent, ada, true",
			sawParent, parentName, parentField, parentClosed)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Fatalf("live records after all spans ended = %d, want 0", n)
	}
}
