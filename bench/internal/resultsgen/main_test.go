package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const rawA = `# date:  2026-01-01T00:00:00Z
# nproc: 2
goos: linux
BenchmarkX/a-2   	 100	   10.0 ns/op	  20 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkX/b-2   	 100	   20.0 ns/op	  40 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkY-2     	 100	    5.0 ns/op	  7.5 drop-%	  8 B/op	  1 allocs/op
PASS
BenchmarkX/a-2   	 100	   30.0 ns/op	  30 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkX/b-2   	 100	   40.0 ns/op	  60 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkY-2     	 100	    5.0 ns/op	  7.5 drop-%	  8 B/op	  1 allocs/op
BenchmarkX/a-2   	 100	   11.0 ns/op	  22 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkX/b-2   	 100	   22.0 ns/op	  22 cpu-ns/op	  0 B/op	  0 allocs/op
BenchmarkY-2     	 100	    6.0 ns/op	  7.5 drop-%	  8 B/op	  1 allocs/op
BenchmarkX/a     	 100	   99.0 ns/op	  99 cpu-ns/op	  0 B/op	  0 allocs/op
`

const rawB = `# date:  2026-01-02T00:00:00Z
BenchmarkY-2     	 100	    1.0 ns/op	  8 B/op	  1 allocs/op
BenchmarkY-2     	 100	    3.0 ns/op	  8 B/op	  1 allocs/op
`

func mustParse(t *testing.T, name, s string) *run {
	t.Helper()
	r, err := parse(name, strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseMedianRange(t *testing.T) {
	a := mustParse(t, "a.txt", rawA)
	if len(a.header) != 2 {
		t.Fatalf("header %q", a.header)
	}
	if got := a.values["X/a-2"]["ns/op"]; len(got) != 3 || got[1] != 30 {
		t.Fatalf("X/a-2 ns/op = %v", got)
	}
	if got := a.values["Y-2"]["drop-%"]; len(got) != 3 {
		t.Fatalf("Y-2 drop-%% = %v", got)
	}
	if got := stat(a.values["X/a-2"]["ns/op"]); got != "11.0 (10.0–30.0)" {
		t.Errorf("stat = %q", got)
	}
	if got := stat([]float64{8, 8, 8}); got != "8.00" {
		t.Errorf("stat of equal rounds = %q", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("even median = %v", got)
	}
	all := merge([]*run{a, mustParse(t, "b.txt", rawB)})
	if y := all["Y-2"]; y.src != 1 || median(y.vals["ns/op"]) != 2 || y.vals["drop-%"] != nil {
		t.Errorf("later input must replace Y-2: %+v", y)
	}
	if all["X/a"].group != "X" || all["Y-2"].group != "Y" {
		t.Errorf("groups: %q %q", all["X/a"].group, all["Y-2"].group)
	}
	if b := lookup(all, "X/a"); b == nil || b.name != "X/a-2" {
		t.Errorf("lookup prefers the all-cores row: %+v", b)
	}
}

func TestPerRoundRatios(t *testing.T) {
	all := merge([]*run{mustParse(t, "a.txt", rawA)})
	rs, err := ratios(all, budget{Num: "X/a", Den: "X/b", Unit: "cpu-ns/op"})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, 0.5, 1}
	for i := range want {
		if rs[i] != want[i] {
			t.Fatalf("ratios = %v, want %v", rs, want)
		}
	}
	rs, err = ratios(all, budget{Num: "X/b", Sub: "X/a", Den: "X/a", Unit: "ns/op"})
	if err != nil || rs[0] != 1 || rs[1] != 1.0/3 || rs[2] != 1 {
		t.Fatalf("(b − a) ÷ a = %v, %v", rs, err)
	}
	if _, err := ratios(all, budget{Num: "X/a", Den: "Z", Unit: "ns/op"}); err == nil {
		t.Error("missing row: no error")
	}
}

func TestReplaceKeepsTheRest(t *testing.T) {
	before := "# t\n\nhand *written*\n\n"
	after := "\n## after\n\ntext, no newline at end"
	doc := before + beginMarker + "\nold\nlines\n" + endMarker + after
	got, err := replace(doc, "NEW\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := before + beginMarker + "\nNEW\n" + endMarker + after; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := replace("no markers\n", "x"); err == nil {
		t.Error("no markers: no error")
	}
}

// TestCommittedResultsAreGenerated checks that bench/RESULTS.md is exactly what the
// generator makes of the committed raw runs.
func TestCommittedResultsAreGenerated(t *testing.T) {
	t.Chdir(filepath.Join("..", "..")) // bench/: the paths as run.sh's users type them
	runs, err := readRuns([]string{
		"testdata/run-2026-11-22-full.txt",
		"testdata/run-2026-11-22-final.txt",
		"testdata/run-2026-11-22-fullstack.txt",
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("RESULTS.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := replace(string(doc), generate(runs))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(doc) {
		t.Fatal("RESULTS.md differs from the generator's output; regenerate with: " +
			"go run ./internal/resultsgen -o RESULTS.md testdata/run-2026-11-22-full.txt " +
			"testdata/run-2026-11-22-final.txt testdata/run-2026-11-22-fullstack.txt")
	}
}
