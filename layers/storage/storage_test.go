package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestChildInheritsParentFieldsAndOverridesSameKey(t *testing.T) {
	var got []string
	var route, subject slog.Value
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "child" {
			got = visible(span)
			route, _ = storage.Lookup(span, "http.route")
			subject, _ = storage.Lookup(span, "subject")
		}
	}}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "parent",
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"), slog.String("subject", "request"))
	_, child := tr.Start(ctx, "child", slog.String("subject", "vendor.lastfm"), slog.Int("attempt", 1))
	child.End()
	parent.End()

	want := []string{"subject=vendor.lastfm", "attempt=1", "http.method=POST", "http.route=/songs"}
	if !slices.Equal(got, want) {
		t.Errorf("child's visible fields = %q, want %q (own fields first, then the parent's; child's value wins)", got, want)
	}
	if route.String() != "/songs" {
		t.Errorf("Lookup(child, http.route) = %q, want the parent's /songs", route)
	}
	if subject.String() != "vendor.lastfm" {
		t.Errorf("Lookup(child, subject) = %q, want the child's own vendor.lastfm", subject)
	}
}

func TestRangeOrderIsNearestFirstWithNearestValue(t *testing.T) {
	var got []string
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "c" {
			got = visible(span)
		}
	}}
	tr := compose(t, p)
	ctx, a := tr.Start(context.Background(), "a", slog.String("k1", "a"), slog.String("k2", "a"))
	ctx, b := tr.Start(ctx, "b", slog.String("k3", "b"), slog.String("k1", "b"))
	_, c := tr.Start(ctx, "c", slog.String("k2", "c"), slog.String("k4", "c"), slog.String("k3", "c"))
	c.End()
	b.End()
	a.End()
	// c's own fields in the order set, then b's not already seen (k1), then a's (none
	// left: k1 and k2 are hidden by nearer spans).
	want := []string{"k2=c", "k4=c", "k3=c", "k1=b"}
	if !slices.Equal(got, want) {
		t.Errorf("Range order = %q, want %q (nearest first, each key once at its nearest position)", got, want)
	}
}

func TestRangeStopsWhenFnReturnsFalse(t *testing.T) {
	n := 0
	p := &probe{onClose: func(span subscriber.SpanRef) {
		storage.Range(span, func(string, slog.Value) bool { n++; return n < 2 })
	}}
	tr := compose(t, p)
	_, s := tr.Start(context.Background(), "s", slog.Int("a", 1), slog.Int("b", 2), slog.Int("c", 3))
	s.End()
	if n != 2 {
		t.Errorf("fn called %d times, want 2 (stop after false)", n)
	}
}

func TestDeepChainChildHoldsOnlyItsOwnFields(t *testing.T) {
	const depth, perSpan = 50, 3
	var own, visibleN, ancestors int
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == fmt.Sprint("level", depth-1) {
			own = storage.OwnFieldCount(span)
			visibleN = len(visible(span))
			ancestors = storage.AncestorDepth(span)
		}
	}}
	tr := compose(t, p)
	ctx := context.Background()
	var spans []subscriber.Span
	for i := range depth {
		var s subscriber.Span
		attrs := make([]slog.Attr, perSpan)
		for j := range attrs {
			attrs[j] = slog.Int(fmt.Sprintf("l%d.f%d", i, j), j)
		}
		ctx, s = tr.Start(ctx, fmt.Sprint("level", i), attrs...)
		spans = append(spans, s)
	}
	for i := len(spans) - 1; i >= 0; i-- {
		spans[i].End()
	}
	if own != perSpan {
		t.Errorf("deepest span holds %d fields of its own, want %d: ancestors' fields were copied", own, perSpan)
	}
	if visibleN != depth*perSpan {
		t.Errorf("deepest span sees %d fields, want %d", visibleN, depth*perSpan)
	}
	if ancestors != depth-1 {
		t.Errorf("deepest span links %d ancestors, want %d", ancestors, depth-1)
	}
}

func TestStartingASpanCostsTheSameAtAnyDepth(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector, so allocation counts vary")
	}
	tr := compose(t, &probe{})
	startAt := func(depth int) float64 {
		ctx := context.Background()
		var spans []subscriber.Span
		for i := range depth {
			var s subscriber.Span
			ctx, s = tr.Start(ctx, "ancestor", slog.Int(fmt.Sprint("f", i), i), slog.String("s", "v"))
			spans = append(spans, s)
		}
		defer func() {
			for i := len(spans) - 1; i >= 0; i-- {
				spans[i].End()
			}
		}()
		attrs := []slog.Attr{slog.Int("own", 1)}
		return testing.AllocsPerRun(200, func() {
			_, s := tr.Start(ctx, "leaf", attrs...)
			s.End()
		})
	}
	shallow, deep := startAt(1), startAt(40)
	if deep > shallow {
		t.Errorf("start+end of a leaf allocates %.1f times at depth 40 but %.1f at depth 1: cost grows with depth", deep, shallow)
	}
}

func TestRecordOnAncestorIsVisibleToChildAndChangesVersion(t *testing.T) {
	var before, after slog.Value
	var v1, v2 uint64
	var okBefore bool
	p := &probe{
		onNew: func(span subscriber.SpanRef) {
			if span.Name() == "child" {
				before, okBefore = storage.Lookup(span, "user")
				v1 = storage.Version(span)
			}
		},
		onClose: func(span subscriber.SpanRef) {
			if span.Name() == "child" {
				after, _ = storage.Lookup(span, "user")
				v2 = storage.Version(span)
			}
		},
	}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "parent")
	_, child := tr.Start(ctx, "child")
	parent.Record(slog.String("user", "alice"))
	child.End()
	parent.End()
	if okBefore {
		t.Errorf("child saw user=%v before it was recorded", before)
	}
	if after.String() != "alice" {
		t.Errorf("child sees user=%q after the parent recorded it, want alice", after)
	}
	if v1 == 0 || v1 == v2 {
		t.Errorf("Version before=%d after=%d: want non-zero and changed by the parent's Record", v1, v2)
	}
}

func TestEventErrorFieldsAreKeptOnTheSpan(t *testing.T) {
	var fields []string
	var hasErr, ownErrSeen bool
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "call" {
			fields = visible(span)
			hasErr = storage.HasError(span)
		}
		if span.Name() == "parent" {
			ownErrSeen = storage.HasError(span)
		}
	}}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "parent")
	cctx, call := tr.Start(ctx, "call", slog.String("peer", "lastfm"))
	tr.Error(cctx, "vendor call failed",
		slog.String("error", "connection reset"), slog.String("error_type", "net.OpError"), slog.Int("attempt", 3))
	call.End() // a plain End: the error comes from the event only
	parent.End()

	want := []string{"peer=lastfm", "error=connection reset", "error_type=net.OpError"}
	if !slices.Equal(fields, want) {
		t.Errorf("span fields after an error event = %q, want %q (error fields kept, others not)", fields, want)
	}
	if !hasErr {
		t.Error("HasError = false for a span whose event carried an error field")
	}
	if ownErrSeen {
		t.Error("HasError = true for the parent: a child's error event must not mark its ancestors")
	}
}

func TestEndErrMarksSpanFailedAndRecordsErrorField(t *testing.T) {
	var hasErr bool
	var errVal slog.Value
	p := &probe{onClose: func(span subscriber.SpanRef) {
		hasErr = storage.HasError(span)
		errVal, _ = storage.Lookup(span, "error")
	}}
	tr := compose(t, p)
	_, s := tr.Start(context.Background(), "op")
	s.EndErr(errors.New("boom"))
	if !hasErr {
		t.Error("HasError = false after EndErr")
	}
	if errVal.Kind() != slog.KindAny || fmt.Sprint(errVal.Any()) != "boom" {
		t.Errorf("error field = %v, want the EndErr error", errVal)
	}
}

func TestSpanWithoutErrorHasNoError(t *testing.T) {
	hasErr := true
	p := &probe{onClose: func(span subscriber.SpanRef) { hasErr = storage.HasError(span) }}
	tr := compose(t, p)
	ctx, s := tr.Start(context.Background(), "op", slog.String("errors_seen", "0"))
	tr.Info(ctx, "all good", slog.Int("status", 200))
	s.End()
	if hasErr {
		t.Error("HasError = true for a span with no error field and a plain End")
	}
}

func TestLatencyIsTheExactDurationAtClose(t *testing.T) {
	var latency, duration time.Duration
	var ms int64
	p := &probe{onClose: func(span subscriber.SpanRef) {
		latency, duration, ms = storage.Latency(span), span.Duration(), storage.LatencyMillis(span)
	}}
	tr := compose(t, p)
	_, s := tr.Start(context.Background(), "op")
	time.Sleep(15 * time.Millisecond)
	s.End()
	if latency != duration {
		t.Errorf("Latency = %v, span.Duration at close = %v: want them equal", latency, duration)
	}
	if latency < 15*time.Millisecond || ms < 15 || ms != latency.Milliseconds() {
		t.Errorf("Latency = %v (%d ms) after sleeping 15ms", latency, ms)
	}
}

func TestBusyExcludesIntervalsBetweenExitAndEnter(t *testing.T) {
	var latency, busy time.Duration
	p := &probe{onClose: func(span subscriber.SpanRef) {
		latency, busy = storage.Latency(span), storage.Busy(span)
	}}
	tr := compose(t, p)
	_, s := tr.Start(context.Background(), "op")
	time.Sleep(10 * time.Millisecond)
	s.Exit()
	time.Sleep(40 * time.Millisecond) // waiting, not busy
	s.Enter()
	time.Sleep(10 * time.Millisecond)
	s.End()
	if busy < 20*time.Millisecond {
		t.Errorf("Busy = %v, want at least the 20ms entered", busy)
	}
	if latency-busy < 40*time.Millisecond {
		t.Errorf("Latency %v - Busy %v = %v, want at least the 40ms between Exit and Enter", latency, busy, latency-busy)
	}
}

func TestSpanEnteredOnceIsBusyForItsWholeLatency(t *testing.T) {
	var latency, busy time.Duration
	p := &probe{onClose: func(span subscriber.SpanRef) {
		latency, busy = storage.Latency(span), storage.Busy(span)
	}}
	tr := compose(t, p)
	_, s := tr.Start(context.Background(), "op")
	time.Sleep(2 * time.Millisecond)
	s.End()
	if busy != latency || busy == 0 {
		t.Errorf("Busy = %v, Latency = %v: want equal for a span never exited before End", busy, latency)
	}
}

func TestParentEndedBeforeChildIsStillReadableInChildClose(t *testing.T) {
	var route slog.Value
	var fields []string
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "async" {
			route, _ = storage.Lookup(span, "http.route")
			fields = visible(span)
		}
	}}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "request", slog.String("http.route", "/songs"))
	_, child := tr.Start(ctx, "async", slog.String("subject", "vendor.lastfm"))
	parent.End()
	// Churn the pool: if the parent's record were reused, its data would be overwritten.
	for range 100 {
		_, s := tr.Start(context.Background(), "other", slog.String("http.route", "/wrong"))
		s.End()
	}
	child.End()
	if route.String() != "/songs" {
		t.Errorf("child's inherited http.route = %q after its parent ended, want /songs", route)
	}
	if want := []string{"subject=vendor.lastfm", "http.route=/songs"}; !slices.Equal(fields, want) {
		t.Errorf("child's fields = %q, want %q", fields, want)
	}
}

func TestAncestorFilteredOutOfStorageIsSkipped(t *testing.T) {
	var fields []string
	var midStored bool
	p := &probe{onClose: func(span subscriber.SpanRef) {
		switch span.Name() {
		case "leaf":
			fields = visible(span)
		case "mid":
			midStored = storage.Stored(span)
		}
	}}
	noMid := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool { return m.Name != "mid" })
	tr := compose(t, p, subscriber.WithFilter(storage.New(), noMid))
	ctx, root := tr.Start(context.Background(), "root", slog.String("r", "1"))
	ctx, mid := tr.Start(ctx, "mid", slog.String("m", "1"))
	_, leaf := tr.Start(ctx, "leaf", slog.String("l", "1"))
	leaf.End()
	mid.End()
	root.End()
	if midStored {
		t.Error("Stored = true for a span storage's filter rejected")
	}
	if want := []string{"l=1", "r=1"}; !slices.Equal(fields, want) {
		t.Errorf("leaf fields = %q, want %q (the filtered span skipped, the root inherited)", fields, want)
	}
}

func TestReadFunctionsAreZeroForUnstoredSpans(t *testing.T) {
	var zero subscriber.SpanRef
	if storage.Stored(zero) || storage.HasError(zero) || storage.Latency(zero) != 0 ||
		storage.Busy(zero) != 0 || storage.Version(zero) != 0 {
		t.Error("read functions return non-zero values for the zero SpanRef")
	}
	if _, ok := storage.Lookup(zero, "k"); ok {
		t.Error("Lookup found a field on the zero SpanRef")
	}
	storage.Range(zero, func(string, slog.Value) bool { t.Error("Range yielded a field for the zero SpanRef"); return true })

	// A dispatch without storage: the probe sees spans that storage never saw.
	stored := true
	p := &probe{onClose: func(span subscriber.SpanRef) { stored = storage.Stored(span) }}
	d := subscriber.MustNew(p)
	_, s := d.Tracer("t").Start(context.Background(), "op", slog.Int("a", 1))
	s.End()
	if stored {
		t.Error("Stored = true in a dispatch without the storage layer")
	}
}

func TestConcurrentEventsAndRecordsOnOneSpanKeepEveryField(t *testing.T) {
	var fields []string
	p := &probe{onClose: func(span subscriber.SpanRef) {
		if span.Name() == "shared" {
			fields = visible(span)
		}
	}, onEvent: func(ev *subscriber.Event) {
		// Read while others write.
		_ = visible(ev.Span)
		_ = storage.HasError(ev.Span)
	}}
	tr := compose(t, p)
	ctx, parent := tr.Start(context.Background(), "parent", slog.String("p", "1"))
	ctx, s := tr.Start(ctx, "shared")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s.Record(slog.Int(fmt.Sprint("g", g), i))
				parent.Record(slog.Int("p", i))
				tr.Error(ctx, "oops", slog.String("error_msg", "x"))
			}
		})
	}
	wg.Wait()
	s.End()
	parent.End()
	if len(fields) != 1+8+1 {
		t.Errorf("fields after concurrent writes = %q, want p, g0..g7 and error_msg", fields)
	}
	// The span's own fields come first, in the order the goroutines happened to set
	// them; the parent's p, with its last value, comes after them all.
	if len(fields) == 1+8+1 {
		own := slices.Sorted(slices.Values(fields[:9]))
		wantOwn := []string{"error_msg=x", "g0=49", "g1=49", "g2=49", "g3=49", "g4=49", "g5=49", "g6=49", "g7=49"}
		if !slices.Equal(own, wantOwn) || fields[9] != "p=49" {
			t.Errorf("fields = %q: want the span's own g0..g7 (each goroutine's last value) and error_msg first, then the parent's p=49 last", fields)
		}
	}
}
