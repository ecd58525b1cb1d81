package readmetest

// Every ```go block of README.md is built with the library as it is, so that a block a
// reader copies compiles. A block is one of:
//
//   - a whole file: it starts with "package"; built as it is;
//   - declarations: a line at column 0 starts with func, var, type or const; built as a
//     file of package main, after the block's setup (below), with an empty func main
//     unless the block has one;
//   - statements: anything else; built as the body of func main, after the block's setup.
//
// Imports are added for the package names the block (and its setup) uses without
// declaring them (knownImports). setups declares, for the blocks that need them, the
// names a block refers to that are the reader's own (their handlers, their types); a
// block is named by its first line. Errors point at README.md's lines (//line
// directives). The blocks are built in place, through go build -overlay, as packages
// that exist only in the overlay, so nothing is written to the tree.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// setups: the declarations a block needs that are not the README's to show, by the
// block's first line. A key that names no block fails the test, so that the table follows
// the README.
var setups = map[string]string{
	`directives, err := filter.FromEnv() // STRATA_LOG, "info" when unset`: `
func songsHandler(*http.Client) http.Handler { return http.NotFoundHandler() }
`,
	`var tr = subscriber.NewTracer("songs/db") // the target that filter directives match`: `
type Song struct{}
type Store struct{}
func (*Store) insert(context.Context, Song) error { return nil }
`,
}

// knownImports maps the package names README blocks may use to their import paths.
var knownImports = map[string]string{
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"io":         "io",
	"log":        "log",
	"slog":       "log/slog",
	"http":       "net/http",
	"os":         "os",
	"signal":     "os/signal",
	"strings":    "strings",
	"syscall":    "syscall",
	"time":       "time",
	"registry":   "github.com/strata-go/strata/registry",
	"subscriber": "github.com/strata-go/strata/subscriber",
	"filter":     "github.com/strata-go/strata/layers/filter",
	"logfmt":     "github.com/strata-go/strata/layers/logfmt",
	"metrics":    "github.com/strata-go/strata/layers/metrics",
	"skywalking": "github.com/strata-go/strata/layers/skywalking",
	"storage":    "github.com/strata-go/strata/layers/storage",
	"w3c":        "github.com/strata-go/strata/layers/w3c",
	"otlp":       "github.com/strata-go/strata/layers/otlp",
	"jaeger":     "github.com/strata-go/strata/layers/jaeger",
	"datadog":    "github.com/strata-go/strata/layers/datadog",
	"nethttp":    "github.com/strata-go/strata/instrument/nethttp",
	"grpctrace":  "github.com/strata-go/strata/instrument/grpctrace",
}

// block is one ```go block: its text and the README line of its first line.
type block struct {
	text string
	line int
}

// goBlocks returns the ```go blocks of a Markdown text.
func goBlocks(t *testing.T, md []byte) []block {
	t.Helper()
	var blocks []block
	var cur *block
	var sb strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &block{line: n + 1}
			sb.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = sb.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			sb.WriteString(line)
			sb.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("README.md:%d: a ```go block is not closed", cur.line-1)
	}
	return blocks
}

var declLine = regexp.MustCompile(`(?m)^(func|var|type|const) `)

// source turns a block into a Go file of package main (a whole file stays as it is).
func source(t *testing.T, name string, b block, setup string) ([]byte, error) {
	t.Helper()
	if strings.HasPrefix(strings.TrimSpace(b.text), "package ") {
		return fmt.Appendf(nil, "//line %s:%d\n%s", name, b.line, b.text), nil
	}
	var body bytes.Buffer
	body.WriteString(setup)
	if declLine.MatchString(b.text) {
		fmt.Fprintf(&body, "\n//line %s:%d\n", name, b.line)
		body.WriteString(b.text)
		if !strings.Contains(b.text, "\nfunc main()") && !strings.HasPrefix(b.text, "func main()") {
			body.WriteString("\nfunc main() {}\n")
		}
	} else {
		fmt.Fprintf(&body, "\nfunc main() {\n//line %s:%d\n", name, b.line)
		body.WriteString(b.text)
		body.WriteString("}\n")
	}
	// The package names the file uses without declaring them become its imports.
	f, err := parser.ParseFile(token.NewFileSet(), name, append([]byte("package main\n"), body.Bytes()...), 0)
	if err != nil {
		return nil, err
	}
	var imports []string
	for _, id := range f.Unresolved {
		if path, ok := knownImports[id.Name]; ok && !slices.Contains(imports, path) {
			imports = append(imports, path)
		}
	}
	slices.Sort(imports)
	var out bytes.Buffer
	out.WriteString("package main\n\nimport (\n")
	for _, p := range imports {
		fmt.Fprintf(&out, "\t%q\n", p)
	}
	out.WriteString(")\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// repoRoot is the module root: two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return root
}

// build builds the Go blocks of the Markdown text md (called name in errors) as
// packages of the module at root, and returns go build's output and error.
func build(t *testing.T, root, name string, md []byte, setups map[string]string) ([]byte, error) {
	t.Helper()
	blocks := goBlocks(t, md)
	if len(blocks) == 0 {
		t.Fatalf("%s has no ```go blocks", name)
	}
	used := map[string]bool{}
	overlay := map[string]string{}
	tmp := t.TempDir()
	var pkgs []string
	for i, b := range blocks {
		first, _, _ := strings.Cut(b.text, "\n")
		setup, ok := setups[first]
		if ok {
			used[first] = true
		}
		src, err := source(t, name, b, setup)
		if err != nil {
			return nil, fmt.Errorf("block at %s:%d does not parse: %v", name, b.line, err)
		}
		rel := fmt.Sprintf("internal/readmetest/_blocks/b%02d", i)
		file := filepath.Join(tmp, fmt.Sprintf("b%02d.go", i))
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(root, rel, "main.go")] = file
		pkgs = append(pkgs, "./"+rel)
	}
	for key := range setups {
		if !used[key] {
			t.Errorf("setups names a block whose first line is %q; %s has none", key, name)
		}
	}
	ov, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the README's blocks: %v", err)
	}
	cmd := exec.Command(goTool, append([]string{"build", "-overlay", ovFile}, pkgs...)...)
	cmd.Dir = root
	return cmd.CombinedOutput()
}

// Every Go block of README.md compiles.
func TestReadmeGoBlocksCompile(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := build(t, root, "README.md", md, setups); err != nil {
		t.Fatalf("a Go block of README.md does not compile: %v\n%s", err, out)
	}
}

// The check fails when a block stops compiling, and says where.
func TestABrokenBlockFails(t *testing.T) {
	root := repoRoot(t)
	md := []byte("# x\n\n```go\nd, err := subscriber.New(storage.New())\nif err != nil {\n\tlog.Fatal(err)\n}\nd.NoSuchMethod()\n```\n")
	out, err := build(t, root, "BROKEN.md", md, nil)
	if err == nil {
		t.Fatalf("a block calling a method that does not exist compiled:\n%s", out)
	}
	if !bytes.Contains(out, []byte("BROKEN.md:8")) || !bytes.Contains(out, []byte("NoSuchMethod")) {
		t.Errorf("the error does not point at the block's line 8 and the missing method:\n%s", out)
	}
}
