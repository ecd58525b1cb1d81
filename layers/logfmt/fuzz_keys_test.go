package logfmt_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
)

// rawDedup keeps the first position of a key and its last value, as storage gives a
// span's own fields.
func rawDedup(attrs []slog.Attr) []slog.Attr {
	var out []slog.Attr
	for _, a := range attrs {
		if i := slices.IndexFunc(out, func(o slog.Attr) bool { return o.Key == a.Key }); i >= 0 {
			out[i].Value = a.Value
			continue
		}
		out = append(out, a)
	}
	return out
}

// firstWins writes the fields in order, as the layer does: each key as written once,
// its first occurrence winning.
func firstWins(levels ...[]slog.Attr) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range levels {
		for _, a := range l {
			k := wantKey(a.Key)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, k+"="+a.Value.String())
		}
	}
	return out
}

// FuzzNoDuplicateKeys gives four arbitrary keys to a parent span, its child, an event
// in the child and a Record on the parent while the child is open, and checks that
// every line decodes, holds no key twice (decode fails the test on that), and holds
// exactly the fields the rule says, in order: the first occurrence of a key as written
// wins (the event's fields, then the span's own, then its ancestors'). The seed corpus
// in testdata/fuzz/FuzzNoDuplicateKeys runs with plain go test.
func FuzzNoDuplicateKeys(f *testing.F) {
	f.Add("a b", "a_b", "a=b", "a\tb")
	f.Add("level", "fields.level", "msg", "fields.msg")
	buf := &syncBuffer{}
	d := mustNew(f, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()))
	tr := d.Tracer("fuzz")
	f.Fuzz(func(t *testing.T, k1, k2, k3, k4 string) {
		buf.mu.Lock()
		buf.b.Reset()
		buf.mu.Unlock()

		parentAttrs := []slog.Attr{slog.String(k1, "p1"), slog.String(k2, "p2")}
		childAttrs := []slog.Attr{slog.String(k3, "c3"), slog.String(k1, "c1")}
		eventAttrs := []slog.Attr{slog.String(k4, "e4"), slog.String(k2, "e2")}
		ctx, parent := tr.Start(context.Background(), "parent", parentAttrs...)
		cctx, child := tr.Start(ctx, "child", childAttrs...)
		tr.Info(cctx, "event", eventAttrs...)
		parentOwn := rawDedup(parentAttrs)
		// The parent records while its child is open: the child's lines must follow.
		// (A key the parent was given twice at start is left alone: which of its two
		// values a Record replaces is the subscriber's business.)
		var rec []slog.Attr
		if k1 != k2 {
			rec = append(rec, slog.String(k2, "r2"))
		}
		if k4 != k1 || k1 != k2 {
			rec = append(rec, slog.String(k4, "r4"))
		}
		parent.Record(rec...)
		parentAfter := rawDedup(append(slices.Clone(parentOwn), rec...))
		tr.Info(cctx, "after record")
		child.End()
		parent.End()

		lines := decode(t, buf.Bytes())
		if len(lines) != 6 {
			t.Fatalf("got %d lines, want 6:\n%q", len(lines), buf.String())
		}
		childOwn := rawDedup(childAttrs)
		want := [][]string{
			firstWins(parentOwn),
			firstWins(childOwn, parentOwn),
			firstWins(eventAttrs, childOwn, parentOwn),
			firstWins(childOwn, parentAfter),
			firstWins(childOwn, parentAfter),
			firstWins(parentAfter),
		}
		for i, l := range lines {
			if got := userPairs(l); !slices.Equal(got, want[i]) {
				t.Errorf("line %d fields = %q, want %q\n%s", i+1, got, want[i], strings.TrimSpace(buf.String()))
			}
		}
	})
}
