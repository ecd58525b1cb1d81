package storage_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// chain starts depth spans, each the child of the one before, with 5 fields each: keys
// unique to the level, or the same 5 keys at every level. It returns the ctx of the
// deepest and a function that ends them all.
func chain(tr *subscriber.Tracer, depth int, repeated bool) (context.Context, func()) {
	ctx := context.Background()
	var spans []subscriber.Span
	for i := range depth {
		attrs := make([]slog.Attr, 5)
		for j := range attrs {
			k := fmt.Sprintf("l%d.f%d", i, j)
			if repeated {
				k = fmt.Sprintf("f%d", j)
			}
			attrs[j] = slog.Int(k, i)
		}
		var s subscriber.Span
		ctx, s = tr.Start(ctx, fmt.Sprint("level", i), attrs...)
		spans = append(spans, s)
	}
	return ctx, func() {
		for i := len(spans) - 1; i >= 0; i-- {
			spans[i].End()
		}
	}
}

// Range gathers and deduplicates level by level, with scratch that does not grow with
// the depth: reading a deep span's fields allocates nothing in steady state.
func TestRangeAtDepthAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector, so allocation counts vary")
	}
	for _, repeated := range []bool{false, true} {
		t.Run(fmt.Sprint("repeated=", repeated), func(t *testing.T) {
			var allocs float64
			var n int
			p := &probe{onClose: func(span subscriber.SpanRef) {
				if span.Name() != "leaf" {
					return
				}
				fn := func(string, slog.Value) bool { n++; return true }
				storage.Range(span, fn) // warm the pool
				n = 0
				allocs = testing.AllocsPerRun(20, func() { storage.Range(span, fn) })
			}}
			tr := compose(t, p)
			ctx, end := chain(tr, 128, repeated)
			_, leaf := tr.Start(ctx, "leaf", slog.Int("own", 1))
			leaf.End()
			end()
			if allocs != 0 {
				t.Errorf("Range over 128 levels allocates %.1f times per call, want 0", allocs)
			}
			want := 1 + 5
			if !repeated {
				want = 1 + 128*5
			}
			if n/21 != want { // AllocsPerRun runs fn once more than asked
				t.Errorf("Range yielded %d fields per call, want %d", n/21, want)
			}
		})
	}
}

func TestRangeOverRepeatedKeysYieldsNearestValues(t *testing.T) {
	var got []string
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "leaf" {
			got = visible(span)
		}
	}}
	tr := compose(t, p)
	ctx, end := chain(tr, 40, true)
	_, leaf := tr.Start(ctx, "leaf", slog.Int("f3", -1))
	leaf.End()
	end()
	want := []string{"f3=-1", "f0=39", "f1=39", "f2=39", "f4=39"}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestKeyGivenTwiceAtStartIsVisibleOnceWithTheLastValue(t *testing.T) {
	var got []string
	var a slog.Value
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "child" {
			got = visible(span)
			a, _ = storage.Lookup(span, "a")
		}
	}}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "parent", slog.Int("a", 0), slog.Int("p", 0), slog.Int("p", 1))
	_, child := tr.Start(ctx, "child", slog.Int("a", 1), slog.Int("b", 2), slog.Int("a", 3))
	child.End()
	parent.End()
	if want := []string{"a=3", "b=2", "p=1"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q (first position, last value)", got, want)
	}
	if a.Int64() != 3 {
		t.Errorf("Lookup(a) = %v, want 3", a)
	}
}

// Storage reads a span's own fields from the subscriber's span state instead of keeping
// a copy: it keeps only what the subscriber does not have, error fields from events.
func TestStorageKeepsNoCopyOfTheSpansFields(t *testing.T) {
	var kept, keptAfterEvent int
	var fields []string
	p := &probe{
		onEvent: func(ev *subscriber.Event) { keptAfterEvent = storage.KeptFieldCount(ev.Span) },
		onClose: func(span subscriber.SpanRef) { fields = visible(span) },
		onNew:   func(span subscriber.SpanRef) { kept = storage.KeptFieldCount(span) },
	}
	tr := compose(t, p)
	ctx, s := tr.Start(context.Background(), "op",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"), slog.Int("user", 42), slog.Bool("cached", false))
	s.Record(slog.Int("status", 200))
	tr.Error(ctx, "failed", slog.String("error", "timeout"), slog.Int("attempt", 2))
	s.End()
	if kept != 0 {
		t.Errorf("storage keeps %d fields of a new span, want 0: the subscriber has them", kept)
	}
	if keptAfterEvent != 1 {
		t.Errorf("storage keeps %d fields after an error event, want 1 (the event's error field)", keptAfterEvent)
	}
	want := []string{"http.method=POST", "http.route=/songs", "user=42", "cached=false", "status=200", "error=timeout"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields = %q, want %q", fields, want)
	}
}

// A value recorded after an error event replaces the event's: the newest value wins.
func TestRecordAfterErrorEventReplacesItsValue(t *testing.T) {
	var got []string
	p := &probe{onClose: func(span subscriber.SpanRef) { got = visible(span) }}
	tr := compose(t, p)
	ctx, s := tr.Start(context.Background(), "op", slog.String("error", "first"), slog.Int("n", 1))
	tr.Error(ctx, "failed", slog.String("error", "from event"))
	s.Record(slog.String("error", "recorded"))
	s.End()
	if want := []string{"error=recorded", "n=1"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
	got = nil
	ctx, s = tr.Start(context.Background(), "op", slog.String("error", "first"), slog.Int("n", 1))
	tr.Error(ctx, "failed", slog.String("error", "from event"))
	s.End()
	if want := []string{"error=from event", "n=1"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q (the event's value is newer than the start's)", got, want)
	}
}

func TestRecordOnGrandparentChangesVersionOfDescendants(t *testing.T) {
	var v1, v2 uint64
	p := &probe{
		onNew: func(span subscriber.SpanRef) {
			if span.Name() == "leaf" {
				v1 = storage.Version(span)
			}
		},
		onClose: func(span subscriber.SpanRef) {
			if span.Name() == "leaf" {
				v2 = storage.Version(span)
			}
		},
	}
	tr := compose(t, p)
	ctx, root := tr.Start(context.Background(), "root")
	ctx, mid := tr.Start(ctx, "mid")
	_, leaf := tr.Start(ctx, "leaf")
	root.Record(slog.String("user", "alice"))
	leaf.End()
	mid.End()
	root.End()
	if v1 == v2 {
		t.Errorf("Version of a grandchild unchanged (%d) by a Record on its grandparent", v1)
	}
}

// A Record on a span with no live descendants changes only that span's version; one on
// a span with live descendants changes theirs too.
func TestRecordOnLeafLeavesOtherSpansVersionsAlone(t *testing.T) {
	versions := map[string]uint64{}
	p := &probe{onEvent: func(ev *subscriber.Event) { versions[ev.Message] = storage.Version(ev.Span) }}
	tr := compose(t, p)
	ctx, root := tr.Start(context.Background(), "root", slog.Int("r", 1))
	actx, a := tr.Start(ctx, "a")
	_, b := tr.Start(ctx, "b")
	tr.Info(actx, "before")
	b.Record(slog.Int("n", 1)) // b is a sibling without children: a's view is unchanged
	tr.Info(actx, "after sibling")
	root.Record(slog.Int("r", 2)) // root has live children: a's view changes
	tr.Info(actx, "after parent")
	b.End()
	a.End()
	root.End()
	if versions["before"] != versions["after sibling"] {
		t.Errorf("Version of a span changed (%d to %d) by a Record on its sibling", versions["before"], versions["after sibling"])
	}
	if versions["after sibling"] == versions["after parent"] {
		t.Error("Version of a span unchanged by a Record on its parent")
	}
}

func TestStorageServesOthers(t *testing.T) {
	var l any = storage.New()
	s, ok := l.(subscriber.Serving)
	if !ok || !s.ServesOthers() {
		t.Error("storage does not report that it serves other layers: it would lower the dispatch's level floor")
	}
}

func TestParentAndOwnFields(t *testing.T) {
	var parentName string
	var own []slog.Attr
	var rootParent bool
	p := &probe{onClose: func(span subscriber.SpanRef) {
		switch span.Name() {
		case "leaf":
			parentName = storage.Parent(span).Name()
			own = storage.OwnFields(span, nil)
		case "root":
			rootParent = !storage.Parent(span).IsZero()
		}
	}}
	noMid := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool { return m.Name != "mid" })
	tr := compose(t, p, subscriber.WithFilter(storage.New(), noMid))
	ctx, root := tr.Start(context.Background(), "root", slog.Int("r", 1))
	ctx, mid := tr.Start(ctx, "mid")
	lctx, leaf := tr.Start(ctx, "leaf", slog.Int("l", 1))
	tr.Error(lctx, "x", slog.String("error", "e"))
	leaf.End()
	mid.End()
	root.End()
	if parentName != "root" {
		t.Errorf("Parent(leaf) = %q, want the nearest stored ancestor, root", parentName)
	}
	if rootParent {
		t.Error("Parent(root) is not the zero SpanRef")
	}
	if len(own) != 2 || own[0].Key != "l" || own[1].Key != "error" {
		t.Errorf("OwnFields(leaf) = %v, want l and the event's error", own)
	}
}
