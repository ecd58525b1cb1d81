// Package depstest checks what each exporter layer links: a program that composes one
// exporter pays for its wire format's libraries and for no other exporter's.
package depstest

import (
	"os/exec"
	"strings"
	"testing"
)

// The modules each exporter's wire format needs, by the exporter package that may
// import them.
var wireModules = map[string][]string{
	"github.com/strata-go/strata/layers/skywalking": {"skywalking.apache.org/repo/goapi"},
	"github.com/strata-go/strata/layers/jaeger":     {"github.com/jaegertracing/jaeger-idl", "github.com/apache/thrift"},
	"github.com/strata-go/strata/layers/otlp":       {"go.opentelemetry.io/proto/otlp"},
	"github.com/strata-go/strata/layers/datadog":    {"github.com/tinylib/msgp"},
}

func TestEachExporterLinksOnlyItsOwnWireFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for pkg := range wireModules {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		for other, mods := range wireModules {
			if other == pkg {
				continue
			}
			for _, mod := range mods {
				for _, d := range deps {
					if d == mod || strings.HasPrefix(d, mod+"/") {
						t.Errorf("%s links %s, which only %s needs", pkg, d, other)
					}
				}
			}
		}
		for _, mod := range wireModules[pkg] {
			found := false
			for _, d := range deps {
				found = found || strings.HasPrefix(d, mod+"/") || d == mod
			}
			if !found {
				t.Errorf("%s does not link %s: the table above is out of date", pkg, mod)
			}
		}
	}
}
