package filter_test

import (
	"testing"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/subscriber"
)

// FuzzParse checks that Parse never panics, that what it accepts reads back from its
// canonical form to the same directives, and that Enabled and the hints do not panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"info", "info,songs/db=debug,songs/vendor=off", "[vendor.lastfm.task]=trace",
		`songs[HTTP request{http.method=POST}]=debug`, `[{q="a, b",user.id}]=info`, "songs=[", "[{a=}]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := filter.Parse(s)
		if err != nil {
			if d != nil {
				t.Fatalf("Parse(%q) returned directives and an error", s)
			}
			return
		}
		canon := d.String()
		again, err := filter.Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("Parse(%q) gave %q, which reads back as %q", s, canon, again.String())
		}
		if again.LevelHint() != d.LevelHint() {
			t.Fatalf("round trip of %q changed LevelHint", s)
		}
		for _, target := range []string{"", "songs", "songs/db"} {
			m := &subscriber.Metadata{Name: "x", Target: target, Level: subscriber.LevelInfo}
			if d.Enabled(m, subscriber.Scope{}) != again.Enabled(m, subscriber.Scope{}) ||
				d.TargetLevelHint(target) != again.TargetLevelHint(target) {
				t.Fatalf("round trip of %q changed what target %q gets", s, target)
			}
		}
	})
}
