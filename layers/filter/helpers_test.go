package filter_test

import (
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

// rec records what reaches it, as "span <target> <name>" and "event <target> <msg>".
type rec struct {
	mu  sync.Mutex
	got []string
}

func (r *rec) OnNewSpan(s subscriber.SpanRef, _ []slog.Attr) {
	r.add("span " + s.Metadata().Target + " " + s.Name())
}

func (r *rec) OnEvent(ev *subscriber.Event) {
	r.add("event " + ev.Meta.Target + " " + ev.Message)
}

func (r *rec) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

// take returns what was recorded and forgets it.
func (r *rec) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// filtered composes a dispatch of one rec layer behind f, and checks at the end of the
// test that no span record leaked.
func filtered(t *testing.T, f subscriber.Filter) (*subscriber.Dispatch, *rec) {
	t.Helper()
	r := &rec{}
	d, err := subscriber.New(subscriber.WithFilter(r, f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := d.Registry().Live(); n != 0 {
			t.Errorf("%d span records still live at the end of the test", n)
		}
	})
	return d, r
}

func mustParse(t testing.TB, s string) *filter.Directives {
	t.Helper()
	d, err := filter.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// expectSeen fails unless got holds exactly want, in any order.
func expectSeen(t *testing.T, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("layer saw\n\t%q\nwant\n\t%q", g, w)
	}
}
