package logfmt_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
)

// Records on ancestors race with lines of their descendants, which reuse and rebuild
// their encodings concurrently: every line still decodes, holds each key once, and a
// line written after the last Record carries its value.
func TestRecordsOnAncestorsRaceWithDescendantsLines(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithoutTimestamp()))
	tr := d.Tracer("race")
	ctx, root := tr.Start(context.Background(), "root", slog.Int("gen", 0), slog.String("a b", "root"))
	mctx, mid := tr.Start(ctx, "mid", slog.String("a_b", "mid"), slog.Int("m", 0))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				cctx, c := tr.Start(mctx, "child", slog.Int("g", g), slog.Int("gen", -1))
				tr.Info(cctx, "step", slog.Int("i", i), slog.String("a b", "event"))
				c.End()
			}
		})
	}
	for i := range 200 {
		root.Record(slog.Int("gen", i), slog.Int(fmt.Sprint("r", i%7), i))
		mid.Record(slog.Int("m", i))
	}
	wg.Wait()
	tr.Info(mctx, "last")
	mid.End()
	root.End()
	lines := decode(t, buf.Bytes()) // fails on a key written twice
	if len(lines) != 4*100*3+1+4 {
		t.Errorf("%d lines, want %d", len(lines), 4*100*3+1+4)
	}
	var last line
	for _, l := range lines {
		if m, _ := l.get(t, "msg"); m == "last" {
			last = l
		}
		if n, _ := l.get(t, "span_name"); n == "child" {
			if v := l.must(t, "gen"); v != "-1" {
				t.Errorf("child line gen=%s, want the child's own -1", v)
			}
		}
	}
	for _, want := range []string{"m=199", "gen=199", "a_b=mid", "r3=199"} {
		if !strings.Contains(" "+strings.Join(userPairs(last), " ")+" ", " "+want+" ") {
			t.Errorf("last line %v lacks %s", userPairs(last), want)
		}
	}
}
