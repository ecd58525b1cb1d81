package metrics

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	validMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	validLabelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func FuzzSanitizedNamesAndEscapedValuesAreAlwaysValid(f *testing.F) {
	for _, s := range []string{"", "db_event", "9lives", "a.b-c/d", "é", "\xff\xfe", `"\` + "\n", "__name__", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n := sanitizeMetricName(s); s != "" && !validMetricName.MatchString(n) {
			t.Errorf("sanitizeMetricName(%q) = %q: invalid", s, n)
		}
		n := sanitizeLabelName(s)
		if !validLabelName.MatchString(n) || strings.HasPrefix(n, "__") {
			t.Errorf("sanitizeLabelName(%q) = %q: invalid or reserved", s, n)
		}
		e := escapeLabelValue(s)
		if !utf8.ValidString(e) || strings.Contains(e, "\n") {
			t.Errorf("escapeLabelValue(%q) = %q: not a valid label value", s, e)
		}
		r := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n")
		if got, want := r.Replace(e), strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Errorf("escapeLabelValue(%q) unescapes to %q, want %q", s, got, want)
		}
	})
}
