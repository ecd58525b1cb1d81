// Package expect is an expectation-based test layer, in the spirit of tracing-mock: a
// test says which lifecycle calls a layer should see, in order, composes the mock with
// the layers under test, runs the code, and asks the mock whether it saw exactly that.
//
//	m := expect.New(t).
//		NewSpan("request", expect.Field("http.method", "GET")).
//		Enter("request").
//		Event("handled", expect.InSpan("request")).
//		Exit("request").
//		Close("request").
//		Only()
//	d := subscriber.MustNew(m)
//	... run code with d.Tracer("test") ...
//	m.AssertFinished()
//
// On a mismatch it fails the test with both sequences side by side and the first
// difference marked, so the failure reads as a diff of the lifecycle.
package expect

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// Kind is a lifecycle call.
type Kind string

// The lifecycle calls a Mock observes.
const (
	KindNewSpan     Kind = "new_span"
	KindRecord      Kind = "record"
	KindFollowsFrom Kind = "follows_from"
	KindEvent       Kind = "event"
	KindEnter       Kind = "enter"
	KindExit        Kind = "exit"
	KindClose       Kind = "close"
)

// Call is one observed lifecycle call.
type Call struct {
	Kind   Kind
	Name   string            // span name, or event message
	Parent string            // parent span's name (new_span), the event's span, or the follows span
	Fields map[string]string // fields given with the call, as strings
	Level  subscriber.Level
	Failed bool // close: the span ended with an error
}

func (c Call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", c.Kind, c.Name)
	if c.Parent != "" {
		fmt.Fprintf(&b, " in %q", c.Parent)
	}
	if c.Kind == KindEvent {
		fmt.Fprintf(&b, " level=%s", c.Level)
	}
	if c.Failed {
		b.WriteString(" failed")
	}
	if len(c.Fields) > 0 {
		keys := make([]string, 0, len(c.Fields))
		for k := range c.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" {")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s=%s", k, c.Fields[k])
		}
		b.WriteString("}")
	}
	return b.String()
}

// Option refines an expectation.
type Option func(*expectation)

// Field expects the call to carry the field key with the value whose string form
// (slog.Value.String) is value. Other fields are allowed.
func Field(key, value string) Option {
	return func(e *expectation) { e.fields = append(e.fields, [2]string{key, value}) }
}

// NoField expects the call not to carry key.
func NoField(key string) Option {
	return func(e *expectation) { e.absent = append(e.absent, key) }
}

// InSpan expects a new span's parent, or an event's span, to be named name ("" for
// none: a root span, an event outside spans).
func InSpan(name string) Option {
	return func(e *expectation) { e.parent = &name }
}

// AtLevel expects an event at level.
func AtLevel(l subscriber.Level) Option {
	return func(e *expectation) { e.level = &l }
}

// Failed expects a closed span to have ended with an error (true) or not (false).
func Failed(failed bool) Option {
	return func(e *expectation) { e.failed = &failed }
}

type expectation struct {
	kind   Kind
	name   string
	parent *string
	fields [][2]string
	absent []string
	level  *subscriber.Level
	failed *bool
}

func (e *expectation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", e.kind, e.name)
	if e.parent != nil {
		fmt.Fprintf(&b, " in %q", *e.parent)
	}
	if e.level != nil {
		fmt.Fprintf(&b, " level=%s", *e.level)
	}
	if e.failed != nil && *e.failed {
		b.WriteString(" failed")
	}
	for _, f := range e.fields {
		fmt.Fprintf(&b, " %s=%s", f[0], f[1])
	}
	for _, k := range e.absent {
		fmt.Fprintf(&b, " !%s", k)
	}
	return b.String()
}

func (e *expectation) matches(c Call) bool {
	if e.kind != c.Kind || e.name != c.Name {
		return false
	}
	if e.parent != nil && *e.parent != c.Parent {
		return false
	}
	if e.level != nil && *e.level != c.Level {
		return false
	}
	if e.failed != nil && *e.failed != c.Failed {
		return false
	}
	for _, f := range e.fields {
		if v, ok := c.Fields[f[0]]; !ok || v != f[1] {
			return false
		}
	}
	for _, k := range e.absent {
		if _, ok := c.Fields[k]; ok {
			return false
		}
	}
	return true
}

// Mock is a layer that records every lifecycle call and checks them against
// expectations. Build the expectations before composing it; it is safe for concurrent
// use.
type Mock struct {
	t        testing.TB
	expected []*expectation
	only     bool
	ignore   map[Kind]bool

	mu    sync.Mutex
	calls []Call
}

// New returns a mock with no expectations that reports to t.
func New(t testing.TB) *Mock { return &Mock{t: t, ignore: map[Kind]bool{}} }

func (m *Mock) expect(k Kind, name string, opts []Option) *Mock {
	e := &expectation{kind: k, name: name}
	for _, o := range opts {
		o(e)
	}
	m.expected = append(m.expected, e)
	return m
}

// NewSpan expects a span named name to start.
func (m *Mock) NewSpan(name string, opts ...Option) *Mock { return m.expect(KindNewSpan, name, opts) }

// Record expects fields to be recorded on the span named name.
func (m *Mock) Record(name string, opts ...Option) *Mock { return m.expect(KindRecord, name, opts) }

// FollowsFrom expects the span named name to follow from the span named follows.
func (m *Mock) FollowsFrom(name, follows string) *Mock {
	return m.expect(KindFollowsFrom, name, []Option{InSpan(follows)})
}

// Event expects an event with message msg.
func (m *Mock) Event(msg string, opts ...Option) *Mock { return m.expect(KindEvent, msg, opts) }

// Enter expects the span named name to be entered.
func (m *Mock) Enter(name string) *Mock { return m.expect(KindEnter, name, nil) }

// Exit expects the span named name to be exited.
func (m *Mock) Exit(name string) *Mock { return m.expect(KindExit, name, nil) }

// Close expects the span named name to close.
func (m *Mock) Close(name string, opts ...Option) *Mock { return m.expect(KindClose, name, opts) }

// Only makes calls beyond the expected ones a failure. Without it, calls after the last
// expectation are allowed.
func (m *Mock) Only() *Mock { m.only = true; return m }

// Ignore leaves calls of these kinds out of the comparison (for a test about spans that
// does not care about enter/exit, for instance).
func (m *Mock) Ignore(kinds ...Kind) *Mock {
	for _, k := range kinds {
		m.ignore[k] = true
	}
	return m
}

// Calls returns the calls observed so far, ignored kinds left out.
func (m *Mock) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// AssertFinished fails the test unless the observed calls match the expectations in
// order (and, with Only, there are no more calls).
func (m *Mock) AssertFinished() {
	m.t.Helper()
	if msg := m.Diff(); msg != "" {
		m.t.Errorf("expect: lifecycle mismatch\n%s", msg)
	}
}

// Diff returns "" when the observed calls match the expectations, or a readable
// side-by-side listing with the first mismatch marked.
func (m *Mock) Diff() string {
	calls := m.Calls()
	bad := -1
	for i, e := range m.expected {
		if i >= len(calls) || !e.matches(calls[i]) {
			bad = i
			break
		}
	}
	if bad < 0 && (!m.only || len(calls) <= len(m.expected)) {
		return ""
	}
	if bad < 0 {
		bad = len(m.expected)
	}
	var b strings.Builder
	n := max(len(calls), len(m.expected))
	fmt.Fprintf(&b, "  %-4s %-50s %s\n", "#", "expected", "got")
	for i := 0; i < n; i++ {
		mark := " "
		if i == bad {
			mark = ">"
		}
		exp, got := "-", "-"
		if i < len(m.expected) {
			exp = m.expected[i].String()
		} else if m.only {
			exp = "(nothing more)"
		}
		if i < len(calls) {
			got = calls[i].String()
		}
		fmt.Fprintf(&b, "%s %-4d %-50s %s\n", mark, i, exp, got)
	}
	return b.String()
}

func (m *Mock) add(c Call) {
	if m.ignore[c.Kind] {
		return
	}
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.mu.Unlock()
}

func fieldMap(attrs []slog.Attr) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]string, len(attrs))
	for _, a := range attrs {
		out[a.Key] = a.Value.String()
	}
	return out
}

// OnNewSpan records a new_span call.
func (m *Mock) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	m.add(Call{Kind: KindNewSpan, Name: span.Name(), Parent: span.Parent().Name(), Fields: fieldMap(fields)})
}

// OnRecord records a record call.
func (m *Mock) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	m.add(Call{Kind: KindRecord, Name: span.Name(), Fields: fieldMap(fields)})
}

// OnFollowsFrom records a follows_from call.
func (m *Mock) OnFollowsFrom(span, follows subscriber.SpanRef) {
	m.add(Call{Kind: KindFollowsFrom, Name: span.Name(), Parent: follows.Name()})
}

// OnEvent records an event call.
func (m *Mock) OnEvent(ev *subscriber.Event) {
	m.add(Call{Kind: KindEvent, Name: ev.Message, Parent: ev.Span.Name(), Level: ev.Meta.Level, Fields: fieldMap(ev.Attrs)})
}

// OnEnter records an enter call.
func (m *Mock) OnEnter(span subscriber.SpanRef) { m.add(Call{Kind: KindEnter, Name: span.Name()}) }

// OnExit records an exit call.
func (m *Mock) OnExit(span subscriber.SpanRef) { m.add(Call{Kind: KindExit, Name: span.Name()}) }

// OnClose records a close call.
func (m *Mock) OnClose(span subscriber.SpanRef) {
	m.add(Call{Kind: KindClose, Name: span.Name(), Failed: span.Failed()})
}
