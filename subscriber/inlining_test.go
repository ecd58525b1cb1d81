package subscriber_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The disabled path costs a nanosecond or two only while the level check is inlined
// into the caller. The wrappers sit just under the compiler's inlining budget, so a
// small edit can push them over; this test says which one when that happens.
func TestHotWrappersInlineIntoTheirCallers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with -gcflags=-m")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, fn := range []string{
		`\(\*Tracer\)\.Start`, `\(\*Tracer\)\.StartLevel`, `\(\*Tracer\)\.Info`, `\(\*Tracer\)\.Debug`,
		`\(\*Tracer\)\.Trace`, `\(\*Tracer\)\.Warn`, `\(\*Tracer\)\.Error`, `\(\*Tracer\)\.Log`,
		`Start`, `Info`, `Span\.End`,
	} {
		re := regexp.MustCompile(`(?m)can inline ` + fn + `$`)
		if !re.Match(out) {
			var why string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "cannot inline") && regexp.MustCompile(fn+`:`).MatchString(l) {
					why = l
				}
			}
			t.Errorf("%s is no longer inlinable: %s", strings.ReplaceAll(fn, `\`, ""), why)
		}
	}
}
