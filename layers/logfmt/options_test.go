package logfmt_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func TestSpanEventsOptionSelectsTheSpanLines(t *testing.T) {
	for _, c := range []struct {
		name       string
		which      logfmt.SpanEvents
		news, clos int
	}{
		{"none", logfmt.SpanNone, 0, 0},
		{"new", logfmt.SpanNew, 2, 0},
		{"close", logfmt.SpanClose, 0, 2},
		{"both", logfmt.SpanBoth, 2, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf := &syncBuffer{}
			d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithSpanEvents(c.which)))
			tr := d.Tracer("t")
			ctx, a := tr.Start(context.Background(), "a")
			ctx, b := tr.Start(ctx, "b")
			tr.Info(ctx, "event")
			b.End()
			a.End()
			news, clos, events := 0, 0, 0
			for _, l := range decode(t, buf.Bytes()) {
				switch ev, _ := l.get(t, "span_event"); ev {
				case "new_span":
					news++
				case "close_span":
					clos++
				default:
					events++
				}
			}
			if news != c.news || clos != c.clos || events != 1 {
				t.Errorf("new_span=%d close_span=%d events=%d, want %d, %d, 1", news, clos, events, c.news, c.clos)
			}
		})
	}
}

func TestSpanLinesDefaultToBothNewAndClose(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, logfmt.New(buf))
	_, s := d.Tracer("t").Start(context.Background(), "s")
	s.End()
	lines := decode(t, buf.Bytes())
	if len(lines) != 2 || lines[0].must(t, "span_event") != "new_span" || lines[1].must(t, "span_event") != "close_span" {
		t.Errorf("default span lines: %v", lines)
	}
}

func TestWithoutLocationLeavesLocationOutAndStopsCallerCapture(t *testing.T) {
	l := logfmt.New(&syncBuffer{}, logfmt.WithoutLocation())
	if l.WantsLocation() {
		t.Error("WantsLocation = true with WithoutLocation")
	}
	if !logfmt.New(&syncBuffer{}).WantsLocation() {
		t.Error("WantsLocation = false by default")
	}
	buf := &syncBuffer{}
	d := mustNew(t, logfmt.New(buf, logfmt.WithoutLocation()))
	d.Tracer("t").Info(context.Background(), "ev")
	if _, ok := decode(t, buf.Bytes())[0].get(t, "location"); ok {
		t.Error("event line has a location with WithoutLocation")
	}
}

func TestWithTimeFormatWritesUTCAndQuotesLayoutsWithSpaces(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, logfmt.New(buf, logfmt.WithTimeFormat(time.RFC1123)))
	d.Tracer("t").Info(context.Background(), "ev")
	ts := decode(t, buf.Bytes())[0].must(t, "timestamp")
	tm, err := time.Parse(time.RFC1123, ts)
	if err != nil || !strings.HasSuffix(ts, "UTC") || time.Since(tm) > time.Minute {
		t.Errorf("timestamp %q: want a recent RFC1123 time in UTC (%v)", ts, err)
	}
}

func TestWithoutKeysLeavesOwnKeysAndFieldsOut(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithoutKeys("span", "trace_id", "secret"), logfmt.WithoutTimestamp()))
	tr := d.Tracer("t")
	ctx, s := tr.Start(context.Background(), "s", slog.String("secret", "stored"), slog.String("kept", "1"))
	tr.Info(ctx, "ev", slog.String("secret", "event"))
	s.End()
	for i, l := range decode(t, buf.Bytes()) {
		for _, k := range []string{"span", "trace_id", "secret", "timestamp"} {
			if _, ok := l.get(t, k); ok {
				t.Errorf("line %d has skipped key %q: %v", i+1, k, l)
			}
		}
		if v, _ := l.get(t, "kept"); v != "1" {
			t.Errorf("line %d lost the field kept: %v", i+1, l)
		}
	}
}

func TestEventAfterItsSpanEndedStillCarriesSpanAndTraceID(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf, logfmt.WithSpanEvents(logfmt.SpanNone)))
	tr := d.Tracer("t")
	ctx, s := tr.Start(context.Background(), "s", slog.String("stored", "x"))
	id := s.ID()
	s.End()
	tr.Info(ctx, "late")
	l := decode(t, buf.Bytes())[0]
	if got := l.must(t, "span"); got != strconv.FormatUint(uint64(id), 10) {
		t.Errorf("span=%s, want %d", got, id)
	}
	if got := l.must(t, "trace_id"); got != subscriber.TraceID(ctx).String() {
		t.Errorf("trace_id=%s, want %s", got, subscriber.TraceID(ctx))
	}
}

func TestEventOutsideAnySpanHasNoSpanOrTraceKeys(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, storage.New(), logfmt.New(buf))
	d.Tracer("t").Info(context.Background(), "alone", slog.Int("n", 1))
	l := decode(t, buf.Bytes())[0]
	if got := strings.Join(l.keys(), " "); got != "level msg n target location timestamp" {
		t.Errorf("keys = %q", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsAreCounted(t *testing.T) {
	l := logfmt.New(failingWriter{})
	d := mustNew(t, l)
	tr := d.Tracer("t")
	tr.Info(context.Background(), "a")
	tr.Info(context.Background(), "b")
	if got := l.WriteErrors(); got != 2 {
		t.Errorf("WriteErrors = %d, want 2", got)
	}
}

// lineChecker fails when a Write is not exactly one complete line, or when two Writes
// overlap.
type lineChecker struct {
	t      *testing.T
	active sync.Mutex
	lines  int
}

func (c *lineChecker) Write(p []byte) (int, error) {
	if !c.active.TryLock() {
		c.t.Error("two Writes at once: the layer must serialise writes to a plain writer")
		return len(p), nil
	}
	defer c.active.Unlock()
	if bytes.Count(p, []byte{'\n'}) != 1 || p[len(p)-1] != '\n' {
		c.t.Errorf("Write of %q is not one line", p)
	}
	c.lines++
	return len(p), nil
}

func TestConcurrentEventsWriteOneWholeLinePerWrite(t *testing.T) {
	c := &lineChecker{t: t}
	d := mustNew(t, storage.New(), logfmt.New(c))
	tr := d.Tracer("t")
	ctx, s := tr.Start(context.Background(), "shared", slog.String("k", "v"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				tr.Info(ctx, "line\nwith newline", slog.Int("g", g), slog.Int("i", i))
				if i%10 == 0 {
					s.Record(slog.Int("rec", i))
				}
			}
		})
	}
	wg.Wait()
	s.End()
	if c.lines != 8*100+2 {
		t.Errorf("%d lines written, want %d", c.lines, 8*100+2)
	}
}
