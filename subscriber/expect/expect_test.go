package expect_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-go/strata/subscriber"
	"github.com/strata-go/strata/subscriber/expect"
)

func TestMismatchIsReportedAsADiffWithTheFirstDifferenceMarked(t *testing.T) {
	m := expect.New(t).
		NewSpan("a").
		NewSpan("b", expect.InSpan("a")).
		Ignore(expect.KindEnter, expect.KindExit, expect.KindClose)
	d := subscriber.MustNew(m)
	ctx, a := d.Tracer("t").Start(context.Background(), "a")
	_, c := d.Tracer("t").Start(ctx, "c") // not "b"
	c.End()
	a.End()

	diff := m.Diff()
	if diff == "" {
		t.Fatal("a wrong span name was not reported")
	}
	lines := strings.Split(strings.TrimSpace(diff), "\n")
	var marked string
	for _, l := range lines {
		if strings.HasPrefix(l, ">") {
			marked = l
		}
	}
	if !strings.Contains(marked, `new_span "b" in "a"`) || !strings.Contains(marked, `new_span "c" in "a"`) {
		t.Fatalf("marked line %q should show expected b and got c; diff:\n%s", marked, diff)
	}
}

func TestOnlyRejectsExtraCallsAndWithoutOnlyTheyAreAllowed(t *testing.T) {
	run := func(m *expect.Mock) {
		d := subscriber.MustNew(m)
		_, s := d.Tracer("t").Start(context.Background(), "a")
		s.End()
	}
	loose := expect.New(t).NewSpan("a")
	run(loose)
	if diff := loose.Diff(); diff != "" {
		t.Fatalf("extra calls failed without Only:\n%s", diff)
	}
	strict := expect.New(t).NewSpan("a").Only()
	run(strict)
	if diff := strict.Diff(); !strings.Contains(diff, "(nothing more)") {
		t.Fatalf("extra calls passed with Only; diff:\n%s", diff)
	}
}

func TestFieldsLevelsAndFailureAreMatched(t *testing.T) {
	m := expect.New(t).
		Event("e", expect.Field("k", "v"), expect.NoField("secret"), expect.AtLevel(subscriber.LevelWarn)).
		Close("s", expect.Failed(true)).
		Ignore(expect.KindNewSpan, expect.KindEnter, expect.KindExit, expect.KindRecord)
	d := subscriber.MustNew(m)
	ctx, s := d.Tracer("t").Start(context.Background(), "s")
	d.Tracer("t").Warn(ctx, "e", slog.String("k", "v"))
	s.EndErr(context.Canceled)
	if diff := m.Diff(); diff != "" {
		t.Fatalf("matching calls reported as a mismatch:\n%s", diff)
	}

	wrong := expect.New(t).Event("e", expect.AtLevel(subscriber.LevelError)).Ignore(expect.KindNewSpan, expect.KindEnter, expect.KindExit, expect.KindClose)
	d2 := subscriber.MustNew(wrong)
	d2.Tracer("t").Warn(context.Background(), "e")
	if wrong.Diff() == "" {
		t.Fatal("a WARN event matched an ERROR expectation")
	}
}
