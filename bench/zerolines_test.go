package bench

// zerolog writing the lines Strata's logfmt layer writes: the floor the README stack's
// request and the depth benchmarks are judged against ("≤ zerolog writing the same
// lines"). Same lines means the same number of lines, with the same keys and values:
//
//	new_span / close_span: level span_name span parent_span (not for a root) span_event
//	                       timestamp trace_id latency_ms (close only) + the span's fields,
//	                       own and inherited, each key once with its nearest value
//	event:                 level msg + the event's fields + the span's fields, target,
//	                       location (file:line, the last two path elements), timestamp,
//	                       span, trace_id
//
// in zerolog's JSON instead of logfmt. TestRequestZerologWritesTheSameLines and
// TestDepthZerologWritesTheSameLines (fairness_test.go) check it line by line.
//
// The peer is written the way a careful zerolog user would, and never given more work
// than Strata does: a span's fields (and the trace id) are pre-encoded once per span in
// a child logger's context (zerolog's With), as Strata encodes them once per span; the
// span lines reuse the clock reads the latency needs (one at start, one at end), as
// Strata's do; the caller's file:line is formatted once per program counter (a cache,
// as Strata's), though zerolog's Caller still pays runtime.Caller for each event. The
// keys, level names and time layout are zerolog's global settings, set for the duration
// of a benchmark or test (zerologAsStrata) and restored after.

import (
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// strataTimeLayout is the logfmt layer's default timestamp: UTC with microseconds.
const strataTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// zerologAsStrata sets zerolog's global key names, level names, time layout and caller
// format to those of Strata's lines, until tb ends.
func zerologAsStrata(tb testing.TB) {
	tsName, msgName, callerName := zerolog.TimestampFieldName, zerolog.MessageFieldName, zerolog.CallerFieldName
	timeFmt, tsFunc := zerolog.TimeFieldFormat, zerolog.TimestampFunc
	levelFn, callerFn := zerolog.LevelFieldMarshalFunc, zerolog.CallerMarshalFunc
	zerolog.TimestampFieldName = "timestamp"
	zerolog.MessageFieldName = "msg"
	zerolog.CallerFieldName = "location"
	zerolog.TimeFieldFormat = strataTimeLayout
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	zerolog.LevelFieldMarshalFunc = upperLevel
	zerolog.CallerMarshalFunc = shortCaller
	tb.Cleanup(func() {
		zerolog.TimestampFieldName, zerolog.MessageFieldName, zerolog.CallerFieldName = tsName, msgName, callerName
		zerolog.TimeFieldFormat, zerolog.TimestampFunc = timeFmt, tsFunc
		zerolog.LevelFieldMarshalFunc, zerolog.CallerMarshalFunc = levelFn, callerFn
	})
}

func upperLevel(l zerolog.Level) string {
	switch l {
	case zerolog.TraceLevel:
		return "TRACE"
	case zerolog.DebugLevel:
		return "DEBUG"
	case zerolog.InfoLevel:
		return "INFO"
	case zerolog.WarnLevel:
		return "WARN"
	case zerolog.ErrorLevel:
		return "ERROR"
	}
	return strings.ToUpper(l.String())
}

// callerCache holds "dir/file.go:line" per program counter.
var callerCache sync.Map

// shortCaller formats the caller as Strata's location key: the file's last two path
// elements and the line, once per program counter.
func shortCaller(pc uintptr, file string, line int) string {
	if s, ok := callerCache.Load(pc); ok {
		return s.(string)
	}
	short := file
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
			short = file[j+1:]
		}
	}
	s := short + ":" + strconv.Itoa(line)
	callerCache.Store(pc, s)
	return s
}

// zlSpan is a span as the zerolog peer keeps it.
type zlSpan struct {
	l      zerolog.Logger // the context: trace_id and the span's fields, own and inherited
	id     uint64
	parent uint64
	name   string
	start  time.Time
}

// zlTrace returns the context of a new trace's logger: a random 128-bit trace id.
func zlTrace(base zerolog.Logger) zerolog.Context {
	var tid [16]byte
	binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
	binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	return base.With().Hex("trace_id", tid[:])
}

// zlStart starts a span whose lines carry the context c (built by the caller from its
// parent's logger, or from zlTrace for a root) and writes its new_span line.
func zlStart(c zerolog.Context, parent *zlSpan, name string) zlSpan {
	s := zlSpan{l: c.Logger(), id: rand.Uint64(), name: name, start: time.Now()}
	if parent != nil {
		s.parent = parent.id
	}
	e := s.l.Info().Str("span_name", name).Uint64("span", s.id)
	if s.parent != 0 {
		e = e.Uint64("parent_span", s.parent)
	}
	e.Str("span_event", "new_span").Time("timestamp", s.start.UTC()).Send()
	return s
}

// end writes the span's close_span line and returns its latency.
func (s *zlSpan) end() time.Duration {
	end := time.Now()
	latency := end.Sub(s.start)
	e := s.l.Info().Str("span_name", s.name).Uint64("span", s.id)
	if s.parent != 0 {
		e = e.Uint64("parent_span", s.parent)
	}
	e.Str("span_event", "close_span").Time("timestamp", end.UTC()).Int64("latency_ms", latency.Milliseconds()).Send()
	return latency
}

// zlFields adds slog attributes to a zerolog context with zerolog's typed calls (the
// depth benchmark's generated fields; the request writes its calls out).
func zlFields(c zerolog.Context, attrs []slog.Attr) zerolog.Context {
	for _, a := range attrs {
		switch a.Value.Kind() {
		case slog.KindString:
			c = c.Str(a.Key, a.Value.String())
		case slog.KindInt64:
			c = c.Int64(a.Key, a.Value.Int64())
		case slog.KindBool:
			c = c.Bool(a.Key, a.Value.Bool())
		default:
			c = c.Str(a.Key, a.Value.String())
		}
	}
	return c
}

// zlBase is the zerolog logger the peer starts from.
func zlBase(w io.Writer) zerolog.Logger { return zerolog.New(w) }
