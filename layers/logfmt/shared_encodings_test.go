package logfmt_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// Two logfmt layers with different options in one dispatch each write their own lines:
// the one that does not own a span's cached encoding encodes for the line, the child
// spans of both inherit correctly and no key is written twice.
func TestTwoLayersWithDifferentOptionsEachWriteTheirFields(t *testing.T) {
	all, noUser := &syncBuffer{}, &syncBuffer{}
	d := mustNew(t, storage.New(),
		logfmt.New(all, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()),
		logfmt.New(noUser, logfmt.WithoutLocation(), logfmt.WithoutTimestamp(), logfmt.WithoutKeys("user")))
	tr := d.Tracer("two")
	ctx, parent := tr.Start(context.Background(), "parent", slog.String("user", "alice"), slog.String("a b", "p"))
	cctx, child := tr.Start(ctx, "child", slog.String("a_b", "c"), slog.Int("n", 1))
	tr.Info(cctx, "event", slog.Int("n", 2))
	child.End()
	parent.End()
	want := map[*syncBuffer][]string{
		all:    {"user=alice a_b=p", "a_b=c n=1 user=alice", "n=2 a_b=c user=alice", "a_b=c n=1 user=alice", "user=alice a_b=p"},
		noUser: {"a_b=p", "a_b=c n=1", "n=2 a_b=c", "a_b=c n=1", "a_b=p"},
	}
	for buf, lines := range want {
		got := decode(t, buf.Bytes())
		if len(got) != len(lines) {
			t.Fatalf("%d lines, want %d:\n%s", len(got), len(lines), buf.String())
		}
		for i, l := range got {
			if g := strings.Join(userPairs(l), " "); g != lines[i] {
				t.Errorf("line %d fields = %q, want %q", i+1, g, lines[i])
			}
		}
	}
}

// A span that storage keeps (for another layer) but the logfmt layer's filter rejects
// (a DEBUG span under an INFO layer) writes no line, and its fields still reach its
// children's lines.
func TestFieldsOfASpanTheLayerFiltersOutReachItsChildren(t *testing.T) {
	buf := &syncBuffer{}
	info := subscriber.FilterFunc(func(m *subscriber.Metadata, _ subscriber.Scope) bool { return m.Level >= subscriber.LevelInfo })
	everything := closeProbe(func(subscriber.SpanRef) {}) // wants every span: storage keeps them
	d := mustNew(t, storage.New(),
		subscriber.WithFilter(logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()), info), everything)
	tr := d.Tracer("filtered")
	ctx, root := tr.Start(context.Background(), "root", slog.String("r", "1"))
	ctx, dbg := tr.StartLevel(ctx, subscriber.LevelDebug, "debug", slog.String("d", "2"))
	_, leaf := tr.Start(ctx, "leaf", slog.String("l", "3"))
	leaf.End()
	dbg.End()
	root.End()
	lines := decode(t, buf.Bytes())
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (no line for the DEBUG span):\n%s", len(lines), buf.String())
	}
	if got := strings.Join(userPairs(lines[1]), " "); got != "l=3 d=2 r=1" {
		t.Errorf("leaf's new_span fields = %q, want l=3 d=2 r=1", got)
	}
}
