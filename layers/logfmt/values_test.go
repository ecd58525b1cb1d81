package logfmt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
)

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type textMarshaler struct{}

func (textMarshaler) MarshalText() ([]byte, error) { return []byte("as text"), nil }

type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg } // panics on a nil receiver

type panicky struct{}

func (panicky) String() string { panic("no string for you") }

func TestValueKindsAreFormattedAsGoPrintsThem(t *testing.T) {
	when := time.Date(2022, 10, 30, 23, 30, 28, 798564123, time.FixedZone("CET", 3600))
	var nilPtr *nilErr
	cases := []struct {
		attr slog.Attr
		want string
	}{
		{slog.String("s", "/songs"), "/songs"},
		{slog.String("empty", ""), ""},
		{slog.Int("int", -42), "-42"},
		{slog.Int("zero", 0), "0"},
		{slog.Int("nine", 9), "9"},
		{slog.Int("ten", 10), "10"},
		{slog.Int("hundred", 100), "100"},
		{slog.Int64("big", 1234567890123456789), "1234567890123456789"},
		{slog.Int64("min", math.MinInt64), "-9223372036854775808"},
		{slog.Uint64("uint", math.MaxUint64), "18446744073709551615"},
		{slog.Float64("float", 0.25), "0.25"},
		{slog.Float64("inf", math.Inf(1)), "+Inf"},
		{slog.Bool("bool", true), "true"},
		{slog.Duration("dur", 1500*time.Millisecond), "1.5s"},
		{slog.Duration("small", 1200*time.Microsecond), "1.2ms"},
		{slog.Time("time", when), "2022-10-30T22:30:28.798564123Z"},
		{slog.Any("err", errors.New("connection reset")), "connection reset"},
		{slog.Any("stringer", stringer{"via String"}), "via String"},
		{slog.Any("text", textMarshaler{}), "as text"},
		{slog.Any("bytes", []byte("raw bytes")), "raw bytes"},
		{slog.Any("struct", struct{ A, B int }{1, 2}), "{A:1 B:2}"},
		{slog.Any("nil", nil), "<nil>"},
		{slog.Any("nilptr", nilPtr), "<nil>"},
		{slog.Any("panics", panicky{}), "!PANIC: no string for you"},
		{slog.Group("grp", slog.Int("a", 1)), ""}, // flattened: checked below
	}
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation()))
	attrs := make([]slog.Attr, len(cases))
	for i, c := range cases {
		attrs[i] = c.attr
	}
	d.Tracer("t").Info(context.Background(), "kinds", attrs...)
	lines := decode(t, buf.Bytes())
	if len(lines) != 1 {
		t.Fatalf("got %d lines", len(lines))
	}
	for _, c := range cases[:len(cases)-1] {
		if got, ok := lines[0].get(t, c.attr.Key); !ok || got != c.want {
			t.Errorf("%s: got %q (found %t), want %q", c.attr.Key, got, ok, c.want)
		}
	}
	if got, _ := lines[0].get(t, "grp.a"); got != "1" {
		t.Errorf("group: grp.a=%q, want 1; line %v", got, lines[0])
	}
}

func TestBadKeysAreRepairedNotDropped(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation()))
	d.Tracer("t").Info(context.Background(), "keys",
		slog.String("", "empty"), slog.String("a b", "space"), slog.String("k=v", "equals"),
		slog.String(`q"`, "quote"), slog.String("bad\xff", "utf8"), slog.String("msg", "reserved"),
		slog.String("nl\n", "newline"))
	l := decode(t, buf.Bytes())[0]
	want := map[string]string{"_": "empty", "a_b": "space", "k_v": "equals", "q_": "quote",
		"bad_": "utf8", "fields.msg": "reserved", "nl_": "newline", "msg": "keys"}
	for k, v := range want {
		if got, ok := l.get(t, k); !ok || got != v {
			t.Errorf("key %q: %q (found %t), want %q; line %v", k, got, ok, v, l)
		}
	}
	if len(l) != len(want)+3 { // + level, target, timestamp
		t.Errorf("line has %d keys, want %d: %v", len(l), len(want)+3, l)
	}
}

func TestEventFieldHidesStoredFieldOfTheSameKey(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithSpanEvents(logfmt.SpanNone)))
	tr := d.Tracer("t")
	ctx, s := tr.Start(context.Background(), "span",
		slog.String("a", "stored"), slog.String("subject", "vendor.lastfm"), slog.String("z", "stored"))
	tr.Info(ctx, "ev", slog.String("subject", "vendor.response"))
	tr.Info(ctx, "ev2", slog.String("a", "event"), slog.String("z", "event"))
	s.End()
	lines := decode(t, buf.Bytes())
	if got := lines[0].keys(); fmt.Sprint(got) != "[level msg subject a z target timestamp span trace_id]" {
		t.Errorf("keys = %v", got)
	}
	if v := lines[0].must(t, "subject"); v != "vendor.response" {
		t.Errorf("subject = %q, want the event's vendor.response", v)
	}
	if got := lines[1].keys(); fmt.Sprint(got) != "[level msg a z subject target timestamp span trace_id]" {
		t.Errorf("keys = %v", got)
	}
}

func TestRecordedFieldShowsInLaterEventsOfSpanAndChildren(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutLocation(), logfmt.WithSpanEvents(logfmt.SpanNone)))
	tr := d.Tracer("t")
	ctx, parent := tr.Start(context.Background(), "parent", slog.String("user", "anonymous"))
	cctx, child := tr.Start(ctx, "child")
	tr.Info(cctx, "before")
	parent.Record(slog.String("user", "alice"))
	tr.Info(cctx, "after")
	child.End()
	parent.End()
	lines := decode(t, buf.Bytes())
	if got := lines[0].must(t, "user"); got != "anonymous" {
		t.Errorf("before Record: user=%q", got)
	}
	if got := lines[1].must(t, "user"); got != "alice" {
		t.Errorf("after the parent's Record: user=%q, want alice (the cached fields must be refreshed)", got)
	}
}

func TestSpanLinesWithoutStorageCarryOwnFields(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, logfmt.New(buf, logfmt.WithoutLocation()))
	tr := d.Tracer("t")
	ctx, parent := tr.Start(context.Background(), "parent", slog.String("p", "1"))
	_, child := tr.Start(ctx, "child", slog.String("c", "2"))
	time.Sleep(2 * time.Millisecond)
	child.End()
	parent.End()
	lines := decode(t, buf.Bytes())
	if len(lines) != 4 {
		t.Fatalf("got %d lines", len(lines))
	}
	closeChild := lines[2]
	if v, _ := closeChild.get(t, "c"); v != "2" {
		t.Errorf("child close line lacks its own field: %v", closeChild)
	}
	if _, ok := closeChild.get(t, "p"); ok {
		t.Errorf("child close line inherited without storage: %v", closeChild)
	}
	if ms := closeChild.must(t, "latency_ms"); ms == "0" {
		t.Errorf("latency_ms=0 after sleeping 2ms")
	}
}
