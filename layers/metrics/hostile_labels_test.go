package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// parseLine checks one exposition line against the Prometheus text format's grammar and
// returns its metric name and (unescaped) labels.
func parseLine(line string) (name string, labels map[string]string, err error) {
	if !utf8.ValidString(line) {
		return "", nil, fmt.Errorf("invalid UTF-8")
	}
	i := 0
	isName := func(c byte, first, colon bool) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || colon && c == ':' || !first && c >= '0' && c <= '9'
	}
	for i < len(line) && isName(line[i], i == 0, true) {
		i++
	}
	if i == 0 {
		return "", nil, fmt.Errorf("no metric name")
	}
	name = line[:i]
	labels = map[string]string{}
	if i < len(line) && line[i] == '{' {
		i++
		for line[i] != '}' {
			j := i
			for j < len(line) && isName(line[j], j == i, false) {
				j++
			}
			if j == i || j+1 >= len(line) || line[j] != '=' || line[j+1] != '"' {
				return "", nil, fmt.Errorf("bad label name at %d", i)
			}
			ln := line[i:j]
			if _, dup := labels[ln]; dup {
				return "", nil, fmt.Errorf("duplicate label %q", ln)
			}
			var v strings.Builder
			k := j + 2
			for ; k < len(line) && line[k] != '"'; k++ {
				if line[k] == '\\' {
					k++
					switch {
					case k >= len(line):
						return "", nil, fmt.Errorf("dangling backslash")
					case line[k] == '\\' || line[k] == '"':
						v.WriteByte(line[k])
					case line[k] == 'n':
						v.WriteByte('\n')
					default:
						return "", nil, fmt.Errorf("bad escape \\%c", line[k])
					}
					continue
				}
				v.WriteByte(line[k])
			}
			if k >= len(line) {
				return "", nil, fmt.Errorf("unterminated label value")
			}
			labels[ln] = v.String()
			i = k + 1
			if line[i] == ',' {
				i++
			} else if line[i] != '}' {
				return "", nil, fmt.Errorf("bad label separator %q", line[i])
			}
		}
		i++
	}
	if i >= len(line) || line[i] != ' ' {
		return "", nil, fmt.Errorf("no space before the value")
	}
	if _, err := strconv.ParseFloat(line[i+1:], 64); err != nil {
		return "", nil, fmt.Errorf("bad value: %v", err)
	}
	return name, labels, nil
}

func TestHostileLabelValuesStillGiveAValidExposition(t *testing.T) {
	m, tr := setup(t)
	hostile := []string{
		`say "hi"`,
		"two\nlines",
		`back\slash\`,
		"bad\xffutf8\xc3",
		`}{,="\n`,
		"",
	}
	for _, v := range hostile {
		_, span := tr.Start(context.Background(), "span \"with\"\nquotes\\",
			slog.String("metric_name", "9 weird-metric.name/é"),
			slog.String("metric_label_value", v),
			slog.String("metric_label_odd key!", "x"),
			slog.String("metric_label_result", "user's own"),
			slog.String("metric_label___name__", "reserved"))
		span.End()
	}

	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	seen := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, err := parseLine(line)
		if err != nil {
			t.Fatalf("invalid line %q: %v", line, err)
		}
		if name != "_9_weird_metric_name___total" { // "/é": one _ per character
			continue
		}
		seen[labels["value"]] = true
		if labels["span_name"] != "span \"with\"\nquotes\\" {
			t.Errorf("span_name = %q", labels["span_name"])
		}
		if labels["exported_result"] != "user's own" || labels["result"] != "ok" {
			t.Errorf("user label result not renamed: %v", labels)
		}
		if labels["odd_key_"] != "x" || labels["exported__name__"] != "reserved" {
			t.Errorf("label names not sanitised: %v", labels)
		}
	}
	for _, v := range hostile {
		want := strings.ToValidUTF8(v, "\uFFFD")
		if !seen[want] {
			t.Errorf("no series with value %q (as %q); seen %v", v, want, seen)
		}
	}
}
