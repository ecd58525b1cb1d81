package logfmt_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// openSpanCost opens n root spans with 4 fields each through d, and returns the heap
// bytes and objects they hold, per span, while open. The pools are emptied first (two
// collections: sync.Pool keeps a victim cache for one), so that every record, slot value
// and buffer the spans hold is counted, as it is for spans that outnumber the pools.
func openSpanCost(d *subscriber.Dispatch, n int) (bytes, objects, mallocs float64) {
	tr := d.Tracer("songs/db")
	attrs := []slog.Attr{
		slog.String("http.method", "POST"), slog.String("http.route", "/songs"),
		slog.Int("user_id", 4242), slog.String("subject", "vendor.lastfm"),
	}
	spans := make([]subscriber.Span, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range spans {
		_, spans[i] = tr.Start(context.Background(), "db.query", attrs...)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, s := range spans {
		s.End()
	}
	runtime.KeepAlive(spans)
	per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(n) }
	return per(after.HeapAlloc, before.HeapAlloc), per(after.HeapObjects, before.HeapObjects),
		per(after.Mallocs, before.Mallocs)
}

// readmeLayers returns the README's composition, writing to io.Discard; when mine is
// false, with a do-nothing layer in place of logfmt and without storage, so that their
// share can be told apart (slot values are made on first use: a layer that is not
// composed costs a span nothing).
func readmeLayers(t testing.TB, mine bool) *subscriber.Dispatch {
	directives, err := filter.Parse("info")
	if err != nil {
		t.Fatal(err)
	}
	if !mine {
		nop := closeProbe(func(subscriber.SpanRef) {})
		return mustNew(t, subscriber.WithFilter(nop, directives), metrics.New())
	}
	return mustNew(t, storage.New(), subscriber.WithFilter(logfmt.New(io.Discard), directives), metrics.New())
}

// TestOpenSpanHeldMemory measures the heap an open span with 4 fields holds with the
// README's composition, and checks the share of storage and logfmt: storage keeps no
// copy of the span's fields (the subscriber has them), logfmt one encoding of them.
func TestOpenSpanHeldMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("heap measurement")
	}
	const n = 10000
	full, bare := readmeLayers(t, true), readmeLayers(t, false)
	openSpanCost(full, n) // once first, so that caches and lazily built state exist
	openSpanCost(bare, n)
	b, o, m := openSpanCost(full, n)
	bb, bo, _ := openSpanCost(bare, n)
	t.Logf("open span with 4 fields, README composition: %.0f B in %.1f objects held (%.1f mallocs); storage and logfmt's share: %.0f B in %.1f objects",
		b, o, m, b-bb, o-bo)
	// storage's span data (112 B), logfmt's slot value (96 B) and its encoding of the
	// 4 fields and the ids (144 B): 3 objects, 352 B.
	if b-bb > 400 || o-bo > 3.5 {
		t.Errorf("storage and logfmt hold %.0f B in %.1f objects per open span, want at most 400 B in 3", b-bb, o-bo)
	}
}
