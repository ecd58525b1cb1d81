package logfmt_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// userPairs returns the line's pairs after the layer's own keys: the fields.
func userPairs(l line) []string {
	var out []string
	for _, p := range l {
		switch p.k {
		case "level", "msg", "span_name", "span", "parent_span", "span_event", "timestamp",
			"trace_id", "latency_ms", "target", "location":
			continue
		}
		out = append(out, p.k+"="+p.v)
	}
	return out
}

// Keys are compared as written: two different keys that are written the same way (made
// valid, or renamed because they equal one of the layer's keys) are one key on a line,
// and the first occurrence wins: the event's fields before the span's, the span's own
// before its parent's, and within one list the earlier.
func TestLineNeverHoldsAKeyTwice(t *testing.T) {
	cases := []struct {
		name            string
		parent, child   []slog.Attr
		event           []slog.Attr
		wantChild       string // the child's close line fields
		wantEvent       string // the event line's fields
		wantParentFirst string // the parent's new_span line fields
	}{
		{
			name:            "made valid the same",
			parent:          []slog.Attr{slog.String("a b", "p1"), slog.String("a_b", "p2"), slog.String("a=b", "p3")},
			wantParentFirst: "a_b=p1",
			wantChild:       "a_b=p1",
			wantEvent:       "a_b=p1",
		},
		{
			name:            "renamed reserved key and the rename itself",
			parent:          []slog.Attr{slog.String("level", "p1"), slog.String("fields.level", "p2")},
			child:           []slog.Attr{slog.String("fields.msg", "c1")},
			event:           []slog.Attr{slog.String("msg", "e1"), slog.String("fields.msg", "e2")},
			wantParentFirst: "fields.level=p1",
			wantChild:       "fields.msg=c1 fields.level=p1",
			wantEvent:       "fields.msg=e1 fields.level=p1",
		},
		{
			name:            "child's differently spelled key hides the parent's",
			parent:          []slog.Attr{slog.String("x_y", "p"), slog.String("keep", "p")},
			child:           []slog.Attr{slog.String("x y", "c")},
			wantParentFirst: "x_y=p keep=p",
			wantChild:       "x_y=c keep=p",
			wantEvent:       "x_y=c keep=p",
		},
		{
			name:            "event's key hides the stored one as written",
			parent:          []slog.Attr{slog.String("a_b", "p"), slog.String("u", "p")},
			child:           []slog.Attr{slog.String("c\tc", "c")},
			event:           []slog.Attr{slog.String("a b", "e"), slog.String("c c", "e")},
			wantParentFirst: "a_b=p u=p",
			wantChild:       "c_c=c a_b=p u=p",
			wantEvent:       "a_b=e c_c=e u=p",
		},
		{
			name:            "event gives a key twice",
			event:           []slog.Attr{slog.Int("k", 1), slog.Int("k", 2), slog.Group("g", slog.Int("h", 3)), slog.Int("g.h", 4)},
			parent:          []slog.Attr{slog.Int("n", 0)},
			wantParentFirst: "n=0",
			wantChild:       "n=0",
			wantEvent:       "k=1 g.h=3 n=0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := &syncBuffer{}
			d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()))
			tr := d.Tracer("dup")
			ctx, parent := tr.Start(context.Background(), "parent", tc.parent...)
			ctx, child := tr.Start(ctx, "child", tc.child...)
			tr.Info(ctx, "event", tc.event...)
			child.End()
			parent.End()
			lines := decode(t, buf.Bytes()) // fails on a key given twice
			if len(lines) != 5 {
				t.Fatalf("%d lines, want 5:\n%s", len(lines), buf.String())
			}
			check := func(what string, l line, want string) {
				t.Helper()
				if got := strings.Join(userPairs(l), " "); got != want {
					t.Errorf("%s line fields = %q, want %q", what, got, want)
				}
			}
			check("parent's new_span", lines[0], tc.wantParentFirst)
			check("event", lines[2], tc.wantEvent)
			check("child's close_span", lines[3], tc.wantChild)
		})
	}
}

// The same holds deep in a chain whose levels reuse keys in different spellings, with
// records on ancestors while descendants are open.
func TestDeepChainWithCollidingKeysWritesEachKeyOnce(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()))
	tr := d.Tracer("dup")
	spellings := []string{"k v", "k_v", "k=v", "k\nv", "k\"v"}
	ctx := context.Background()
	var ends []func()
	for i := range 40 {
		attrs := []slog.Attr{
			slog.Int(spellings[i%len(spellings)], i),
			slog.Int(fmt.Sprintf("own%d", i), i),
			slog.Int(fmt.Sprintf("shared%d", i%3), i),
		}
		c, span := tr.Start(ctx, fmt.Sprint("level", i), attrs...)
		ctx = c
		ends = append(ends, span.End)
		if i%7 == 3 {
			span.Record(slog.Int("level", i), slog.Int("fields.level", -i))
		}
		tr.Info(ctx, "step", slog.Int("k v", -1), slog.Int(fmt.Sprintf("own%d", i/2), -1))
	}
	for i := len(ends) - 1; i >= 0; i-- {
		ends[i]()
	}
	lines := decode(t, buf.Bytes())
	for i, l := range lines {
		if v, ok := l.get(t, "k_v"); !ok {
			t.Errorf("line %d has no k_v: %v", i+1, l)
		} else if m, _ := l.get(t, "msg"); m == "step" && v != "-1" {
			t.Errorf("event line %d: k_v=%s, want the event's -1", i+1, v)
		}
	}
}

// Spans and events with many fields (more than a key set holds inline) follow the same
// rule, level after level.
func TestManyFieldsFollowTheFirstOccurrenceRule(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()))
	tr := d.Tracer("many")
	spellings := []string{"x y", "x_y", "x=y", "level", "fields.level"}
	fields := func(prefix string, n int, v string) []slog.Attr {
		var out []slog.Attr
		for i := range n {
			out = append(out, slog.String(fmt.Sprintf("%s%d", prefix, i%(n-3)), v)) // a few repeat
			out = append(out, slog.String(spellings[i%len(spellings)], v+fmt.Sprint(i)))
		}
		return out
	}
	var levels [][]slog.Attr
	ctx := context.Background()
	var ends []func()
	for lvl := range 6 {
		attrs := fields([]string{"k", "shared"}[lvl%2], 20+lvl, fmt.Sprint("l", lvl))
		c, s := tr.Start(ctx, "level", attrs...)
		ctx = c
		ends = append(ends, s.End)
		levels = append([][]slog.Attr{rawDedup(attrs)}, levels...)
	}
	event := fields("shared", 30, "e")
	tr.Info(ctx, "event", event...)
	for i := len(ends) - 1; i >= 0; i-- {
		ends[i]()
	}
	lines := decode(t, buf.Bytes())
	// Line 6 is the deepest span's new_span, line 7 the event.
	if got, want := userPairs(lines[5]), firstWins(levels...); !slices.Equal(got, want) {
		t.Errorf("deepest span's fields:\n got %q\nwant %q", got, want)
	}
	eventLevels := append([][]slog.Attr{event}, levels...)
	if got, want := userPairs(lines[6]), firstWins(eventLevels...); !slices.Equal(got, want) {
		t.Errorf("event's fields:\n got %q\nwant %q", got, want)
	}
}

// A span started from the ctx of a span that already ended (a goroutine that outlives
// its request) still names its parent in parent_span.
func TestChildOfAnEndedSpanPrintsItsParentSpan(t *testing.T) {
	var out bytes.Buffer
	d := subscriber.MustNew(storage.New(), logfmt.New(&out, logfmt.WithoutTimestamp(), logfmt.WithoutLocation()))
	tr := d.Tracer("test")
	ctx, req := tr.Start(context.Background(), "request")
	reqID := req.ID()
	req.End()
	_, late := tr.Start(ctx, "late")
	late.End()
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "span_name=late") && !strings.Contains(line, fmt.Sprintf("parent_span=%d", reqID)) {
			t.Errorf("the late child's line lacks parent_span=%d: %s", reqID, line)
		}
	}
	if !strings.Contains(out.String(), "span_name=late") {
		t.Fatalf("no line for the late child:\n%s", out.String())
	}
}
