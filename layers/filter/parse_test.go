package filter_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/filter"
)

func TestParseGivesCanonicalString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"info", "info"},
		{"INFO", "info"},
		{"warning", "warn"},
		{"none", "off"},
		{"", ""},
		{" , ,info,, ", "info"},
		{"songs/vendor=off,info,songs/db=debug", "info,songs/db=debug,songs/vendor=off"},
		{"songs/db", "songs/db=trace"},
		{"info,songs=warn,songs=debug", "info,songs=debug"},
		{"debug,info", "info"},
		{"info=debug", "info=debug"},
		{" songs/db = Debug ", "songs/db=debug"},
		{"[vendor.lastfm.task]=trace", "[vendor.lastfm.task]=trace"},
		{"[vendor.lastfm.task]", "[vendor.lastfm.task]=trace"},
		{"songs[HTTP request{http.method=POST}]=debug", "songs[HTTP request{http.method=POST}]=debug"},
		{"songs [ HTTP request { http.route=/songs , http.method = POST } ] = DEBUG",
			"songs[HTTP request{http.method=POST,http.route=/songs}]=debug"},
		{"[{user.id=42}]=trace", "[{user.id=42}]=trace"},
		{"[{user.id}]=debug", "[{user.id}]=debug"},
		{`[{q="a, b"}]=info`, `[{q="a, b"}]=info`},
		{`[{q="plain"}]`, "[{q=plain}]=trace"},
		{`[{q=""}]`, `[{q=""}]=trace`},
		{`[{q="]}"}]=info,warn`, `warn,[{q="]}"}]=info`},
		{"[x]=info,[x]=debug", "[x]=debug"},
		{"b[s]=info,a[s]=info,[s]=warn", "[s]=warn,a[s]=info,b[s]=info"},
		{"error,songs/db=debug,[{a=1}]=info,songs=warn", "error,songs=warn,songs/db=debug,[{a=1}]=info"},
	}
	for _, c := range cases {
		d, err := filter.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := d.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := filter.Parse(d.String())
		if err != nil || again.String() != d.String() {
			t.Errorf("canonical %q does not read back: %v, %v", d.String(), again, err)
		}
	}
}

func TestParseErrorNamesTheBadDirectiveAndWhatWasExpected(t *testing.T) {
	cases := []struct{ in, directive, reason string }{
		{"info,songs/db=loud", "songs/db=loud", `unknown level "loud" (want trace, debug, info, warn, error or off)`},
		{"info,songs[db", "songs[db", "unclosed '['"},
		{"=debug", "=debug", "empty target before '='"},
		{"songs=", "songs=", "missing level after '='"},
		{"songs=debug=info", "songs=debug=info", "more than one '='"},
		{"[]=info", "[]=info", `empty span filter "[]"`},
		{"[x]{a=1}", "[x]{a=1}", `unexpected "{a=1}" after ']'`},
		{"[x]y", "[x]y", `unexpected "y" after ']'`},
		{"songs{a=1}=debug", "songs{a=1}=debug", "field filters must be inside span brackets"},
		{"[{}]", "[{}]", `empty field list "{}"`},
		{"[{a=}]", "[{a=}]", `field "a" has no value`},
		{"[{=1}]", "[{=1}]", "has no name"},
		{"[{a=1,}]", "[{a=1,}]", "empty field"},
		{`[{a="x}]`, `[{a="x}]`, "unterminated quoted field value"},
		{`[{a="x"y}]`, `[{a="x"y}]`, `unexpected "y" after the quoted value`},
		{`[{a="\q"}]`, `[{a="\q"}]`, "bad quoted value"},
		{"[{a=x y=z}]", "[{a=x y=z}]", "quote it"},
		{"[a{b=1]", "[a{b=1]", "unclosed '{'"},
		{"[{a{b}}]", "[{a{b}}]", "nested '{'"},
		{"[span=x]", "[span=x]", "contains '='; to match a field write [{span=x}]"},
		{"songs db=info", "songs db=info", "contains a space"},
		{"songs]=info", "songs]=info", "']' without a matching '['"},
		{"info, [a,b]=debug", "[a,b]=debug", `contains ','`},
	}
	for _, c := range cases {
		_, err := filter.Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error about %q", c.in, c.reason)
			continue
		}
		pe, ok := errors.AsType[*filter.ParseError](err)
		if !ok {
			t.Errorf("Parse(%q) error is %T, want *filter.ParseError", c.in, err)
			continue
		}
		if pe.Directive != c.directive || !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("Parse(%q) = %q; want it to name directive %q and say %q", c.in, err, c.directive, c.reason)
		}
		if !strings.Contains(err.Error(), strconv.Quote(c.directive)) {
			t.Errorf("message %q does not show the directive %q", err, c.directive)
		}
	}
	// The whole message, as a user reads it.
	_, err := filter.Parse("info,songs/db=loud")
	want := `filter: directive "songs/db=loud": unknown level "loud" (want trace, debug, info, warn, error or off)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
