package logfmt_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
)

// wantKey is what a key must decode to: each space, control character, '=', '"', DEL,
// invalid byte, U+FFFD or non-printable rune replaced by '_', "_" for the empty key,
// and the prefix "fields." for a key that equals one of the layer's own keys.
func wantKey(k string) string {
	if k == "" {
		return "_"
	}
	var sb strings.Builder
	for _, r := range k { // an invalid byte comes out as utf8.RuneError
		if r <= ' ' || r == '=' || r == '"' || r == 0x7f || r == utf8.RuneError || !unicode.IsPrint(r) {
			sb.WriteByte('_')
		} else {
			sb.WriteRune(r)
		}
	}
	s := sb.String()
	switch s {
	case "level", "msg", "span_name", "span", "parent_span", "span_event",
		"timestamp", "trace_id", "latency_ms", "target", "location":
		return "fields." + s
	}
	return s
}

// wantValue is what a value must decode to: itself when valid UTF-8; otherwise each
// invalid byte becomes U+FFFD.
func wantValue(v string) string { return string([]rune(v)) }

// FuzzRoundTrip logs arbitrary keys and values as a span's name and field, an event's
// message and fields, and an error, and checks that every line decodes with go-logfmt
// and gives back what was logged. The seed corpus in testdata/fuzz/FuzzRoundTrip runs
// with plain go test.
func FuzzRoundTrip(f *testing.F) {
	buf := &syncBuffer{}
	d := mustNew(f, storage.New(), logfmt.New(buf, logfmt.WithoutLocation()))
	tr := d.Tracer("fuzz")
	f.Fuzz(func(t *testing.T, key, value string) {
		buf.mu.Lock()
		buf.b.Reset()
		buf.mu.Unlock()

		ctx, span := tr.Start(context.Background(), value, slog.String(key, value), slog.String("other", value))
		tr.Info(ctx, value, slog.String(key, value))
		tr.Warn(ctx, value, slog.Any("err", errors.New(value)), slog.Any("bytes", []byte(value)))
		span.End()

		lines := decode(t, buf.Bytes())
		if len(lines) != 4 {
			t.Fatalf("got %d lines, want 4:\n%q", len(lines), buf.String())
		}
		wk, wv := wantKey(key), wantValue(value)
		for i, l := range lines {
			if i == 0 || i == 3 {
				if got := l.must(t, "span_name"); got != wv {
					t.Errorf("line %d: span_name=%q, want %q", i+1, got, wv)
				}
			} else if got := l.must(t, "msg"); got != wv {
				t.Errorf("line %d: msg=%q, want %q", i+1, got, wv)
			}
			if i == 2 {
				for _, k := range []string{"err", "bytes"} {
					if got := l.must(t, k); got != wv {
						t.Errorf("line 3: %s=%q, want %q", k, got, wv)
					}
				}
			}
			if key == "other" {
				continue // the key is its own second field
			}
			if got, ok := l.get(t, wk); !ok || got != wv {
				t.Errorf("line %d: key %q (from %q) = %q (found %t), want %q\n%q", i+1, wk, key, got, ok, wv, buf.String())
			}
			if got := l.must(t, "other"); got != wv {
				t.Errorf("line %d: other=%q, want %q", i+1, got, wv)
			}
		}
	})
}
