package logfmt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// SpanEvents selects which span lifecycle lines the layer writes. Combine with |.
type SpanEvents uint8

// The span lines the layer can write.
const (
	// SpanNew writes a span_event=new_span line when a span starts.
	SpanNew SpanEvents = 1 << iota
	// SpanClose writes a span_event=close_span line, with latency_ms, when a span ends.
	SpanClose
	// SpanNone writes no span lines: only events.
	SpanNone SpanEvents = 0
	// SpanBoth writes both (the default).
	SpanBoth = SpanNew | SpanClose
)

// The layer's own keys, in an array so that skipping one costs an index.
const (
	kLevel = iota
	kMsg
	kSpanName
	kSpan
	kParentSpan
	kSpanEvent
	kTimestamp
	kTraceID
	kLatency
	kTarget
	kLocation
	numFixed
)

var fixedKeys = [numFixed]string{"level", "msg", "span_name", "span", "parent_span", "span_event",
	"timestamp", "trace_id", "latency_ms", "target", "location"}

// Option configures a [Layer]; pass options to [New].
type Option func(*Layer)

// WithSpanEvents selects the span lines to write: [SpanNew], [SpanClose], [SpanBoth]
// (the default) or [SpanNone].
func WithSpanEvents(which SpanEvents) Option {
	return func(l *Layer) { l.spans = which & SpanBoth }
}

// WithTimeFormat sets the layout of the timestamp key, as for [time.Time.Format]; times
// are always in UTC. The default is RFC 3339 with microseconds
// (2022-10-30T22:30:28.798564Z), written without time.Format's cost. A layout whose
// output holds spaces is quoted. An empty layout restores the default.
func WithTimeFormat(layout string) Option {
	return func(l *Layer) { l.timeLayout = layout }
}

// WithoutTimestamp leaves the timestamp key out of every line (when the destination
// stamps lines itself, or for deterministic output in tests and examples).
func WithoutTimestamp() Option { return WithoutKeys("timestamp") }

// WithoutLocation leaves the location key out of event lines. It also stops events from
// capturing their caller, which is most of an event's cost when no other layer wants
// locations.
func WithoutLocation() Option {
	return func(l *Layer) { l.location = false }
}

// WithoutKeys leaves the given keys out of every line: the layer's own keys (level,
// msg, span_name, span, parent_span, span_event, timestamp, trace_id, latency_ms,
// target, location) and the fields of events and spans alike. Keys are matched as
// given, before they are made valid.
func WithoutKeys(keys ...string) Option {
	return func(l *Layer) {
		for _, k := range keys {
			for i, f := range fixedKeys {
				if f == k {
					l.skipFixed[i] = true
				}
			}
			// A field of an event or span may use the same name.
			if l.skipUser == nil {
				l.skipUser = make(map[string]struct{})
			}
			l.skipUser[k] = struct{}{}
		}
	}
}

// Layer writes logfmt lines for events and span lifecycle: one Write per line. Create
// it with [New]; compose it after [storage.New] so that lines carry the span fields
// storage keeps. A Layer is safe for concurrent use.
type Layer struct {
	w    io.Writer
	lw   LevelWriter // w, when it routes by level
	safe bool        // w serialises concurrent writes itself
	mu   sync.Mutex  // serialises writes to w when it does not

	spans      SpanEvents
	timeLayout string
	location   bool
	skipFixed  [numFixed]bool
	skipUser   map[string]struct{} // nil when no key is skipped
	// datadog is set by WithDatadog; ddTags are its pre-encoded dd.service, dd.env and
	// dd.version.
	datadog bool
	ddTags  []byte
	// cfg names the options a span's encoded fields depend on (the skipped keys), so
	// that layers with the same options share them; 0 for the default.
	cfg uint32

	writeErrs atomic.Uint64
}

// New returns a layer that writes to w (os.Stderr when w is nil). Without options it
// writes new_span and close_span lines and event lines with locations, timestamps in
// UTC with microseconds.
//
// w receives one Write call per line, with a complete line ending in '\n'; the layer
// serialises calls unless w is an [AsyncWriter] or a [LevelRouter], which do it
// themselves. A w that implements [LevelWriter] is told each line's level.
func New(w io.Writer, opts ...Option) *Layer {
	if w == nil {
		w = os.Stderr
	}
	l := &Layer{w: w, spans: SpanBoth, location: true}
	l.lw, _ = w.(LevelWriter)
	_, l.safe = w.(concurrentWriter)
	l.safe = l.safe || w == io.Discard
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	l.cfg = l.encodingConfig()
	return l
}

// configs numbers the encoding options in use: layers with equal options get one
// number and share spans' encodings.
var configs struct {
	mu  sync.Mutex
	ids map[string]uint32
}

// encodingConfig returns the number of what a span's encoding depends on besides the
// span: the skipped user keys, and whether span and trace_id are written.
func (l *Layer) encodingConfig() uint32 {
	if l.skipUser == nil && !l.skipFixed[kSpan] && !l.skipFixed[kTraceID] {
		return 0
	}
	keys := make([]string, 0, len(l.skipUser))
	for k := range l.skipUser {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	name := fmt.Sprintf("%t %t %q", l.skipFixed[kSpan], l.skipFixed[kTraceID], keys)
	configs.mu.Lock()
	defer configs.mu.Unlock()
	id, ok := configs.ids[name]
	if !ok {
		if configs.ids == nil {
			configs.ids = make(map[string]uint32)
		}
		id = uint32(len(configs.ids) + 1)
		configs.ids[name] = id
	}
	return id
}

// concurrentWriter marks the package's writers that are safe for concurrent Writes.
type concurrentWriter interface{ concurrentSafe() }

// WantsLocation reports whether event lines carry a location, so that the subscriber
// captures callers' program counters.
func (l *Layer) WantsLocation() bool { return l.location && !l.skipFixed[kLocation] }

// WriteErrors returns how many lines the writer refused (returned an error for).
func (l *Layer) WriteErrors() uint64 { return l.writeErrs.Load() }

// Flush delivers the lines the writer buffers, when the writer has a
// Flush(context.Context) error method (as [AsyncWriter] and [LevelRouter] do).
func (l *Layer) Flush(ctx context.Context) error { return flushWriter(ctx, l.w) }

// Shutdown closes the writer when it has a Close(context.Context) error method (as
// [AsyncWriter] and [LevelRouter] do), which delivers what it holds and stops its
// goroutine; otherwise it flushes. It does not close files: the layer does not own
// os.Stderr.
func (l *Layer) Shutdown(ctx context.Context) error { return closeWriter(ctx, l.w) }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledBuf = 64 << 10

func (l *Layer) write(level subscriber.Level, bp *[]byte, b []byte) {
	line := b
	if len(line) > 0 && line[0] == ' ' {
		line = line[1:]
	}
	if len(line) > 1 { // more than the newline
		var err error
		switch {
		case l.lw != nil:
			_, err = l.lw.WriteLevel(level, line)
		case l.safe:
			_, err = l.w.Write(line)
		default:
			l.mu.Lock()
			_, err = l.w.Write(line)
			l.mu.Unlock()
		}
		if err != nil {
			l.writeErrs.Add(1)
		}
	}
	if cap(b) <= maxPooledBuf {
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

func levelString(lv subscriber.Level) string {
	switch lv {
	case subscriber.LevelTrace:
		return "TRACE"
	case subscriber.LevelDebug:
		return "DEBUG"
	case subscriber.LevelInfo:
		return "INFO"
	case subscriber.LevelWarn:
		return "WARN"
	case subscriber.LevelError:
		return "ERROR"
	}
	return lv.String()
}

func (l *Layer) skipKey(key string) bool {
	if l.skipUser == nil {
		return false
	}
	_, ok := l.skipUser[key]
	return ok
}

func (l *Layer) appendTime(b []byte, t time.Time) []byte {
	if l.skipFixed[kTimestamp] || t.IsZero() {
		return b
	}
	b = append(b, " timestamp="...)
	if l.timeLayout == "" {
		return appendTimestamp(b, t)
	}
	start := len(b)
	b = t.UTC().AppendFormat(b, l.timeLayout)
	if needsQuote(string(b[start:])) {
		s := string(b[start:])
		b = appendQuoted(b[:start], s)
	}
	return b
}

func (l *Layer) appendTraceID(b []byte, id registry.TraceID) []byte {
	if l.skipFixed[kTraceID] || id.IsZero() {
		return b
	}
	b = append(b, " trace_id="...)
	if !id.IsRaw() {
		b, _ = id.AppendText(b)
		return b
	}
	// An upstream id kept byte for byte may hold anything.
	start := len(b)
	b, _ = id.AppendText(b)
	if needsQuote(string(b[start:])) {
		s := string(b[start:])
		b = appendQuoted(b[:start], s)
	}
	return b
}

func (l *Layer) appendID(b []byte, k int, id registry.SpanID) []byte {
	if l.skipFixed[k] || id == 0 {
		return b
	}
	b = append(b, ' ')
	b = append(b, fixedKeys[k]...)
	b = append(b, '=')
	return appendUint(b, uint64(id))
}

// OnEvent writes an event line: level, msg, the event's fields, the span's stored
// fields, target, location, timestamp, span and trace_id. A key (as written) appears
// once: an event field hides a later event field and a stored field with the same key.
func (l *Layer) OnEvent(ev *subscriber.Event) {
	bp := bufPool.Get().(*[]byte)
	b := *bp
	if !l.skipFixed[kLevel] {
		b = append(b, " level="...)
		b = append(b, levelString(ev.Meta.Level)...)
	}
	if !l.skipFixed[kMsg] {
		b = append(b, " msg="...)
		b = appendString(b, ev.Message)
	}
	start := len(b)
	var ek eventKeys
	for _, a := range ev.Attrs {
		if !l.skipKey(a.Key) {
			b = appendEventField(b, &ek, a.Key, a.Value)
		}
	}
	if ek.maybeDup {
		b = dropRepeatedFields(b, start) // the first occurrence of a key wins
	}
	var fc *fieldCache
	transient := false
	if !ev.Span.IsZero() {
		fc, transient = l.spanFields(ev.Span, true)
		switch {
		case fc.empty():
		case !ek.mayShare(fc.v1, fc.v2):
			b = appendView(b, fc) // no stored key can be one of the event's
		default:
			var keys keySet // an event field hides a stored one
			addKeys(&keys, b, start)
			b = appendViewWithout(b, fc, &keys)
			keys.release()
		}
	}
	if ev.Meta.Target != "" && !l.skipFixed[kTarget] {
		b = append(b, " target="...)
		b = appendString(b, ev.Meta.Target)
	}
	if l.location && !l.skipFixed[kLocation] && ev.Meta.PC != 0 {
		b = appendLocationOf(b, ev.Meta.PC)
	}
	b = l.appendTime(b, ev.Time)
	if fc != nil && ev.TraceID == ev.Span.TraceID() {
		b = append(b, fc.ids()...) // span and trace_id, encoded once per span
		if l.datadog {
			b = l.appendDatadog(b, ev.TraceID, ev.Span.ID())
		}
	} else {
		id := ev.Span.ID()
		if id == 0 && ev.Context != nil {
			// The span ended already or belongs to another dispatch: still correlate.
			id = subscriber.SpanID(ev.Context)
		}
		b = l.appendID(b, kSpan, id)
		b = l.appendTraceID(b, ev.TraceID)
		if l.datadog {
			b = l.appendDatadog(b, ev.TraceID, id)
		}
	}
	if transient {
		putTransient(fc)
	}
	b = append(b, '\n')
	l.write(ev.Meta.Level, bp, b)
}

// OnNewSpan writes the new_span line.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, _ []slog.Attr) {
	if l.spans&SpanNew == 0 {
		return
	}
	l.writeSpan(span, "new_span", span.Start(), false)
}

// OnClose writes the close_span line, with latency_ms.
func (l *Layer) OnClose(span subscriber.SpanRef) {
	if l.spans&SpanClose == 0 {
		return
	}
	l.writeSpan(span, "close_span", span.End(), true)
}

func (l *Layer) writeSpan(span subscriber.SpanRef, event string, t time.Time, closing bool) {
	bp := bufPool.Get().(*[]byte)
	b := *bp
	meta := span.Metadata()
	if !l.skipFixed[kLevel] {
		b = append(b, " level="...)
		b = append(b, levelString(meta.Level)...)
	}
	if !l.skipFixed[kSpanName] {
		b = append(b, " span_name="...)
		b = appendString(b, meta.Name)
	}
	b = l.appendID(b, kSpan, span.ID())
	b = l.appendID(b, kParentSpan, span.ParentID())
	if !l.skipFixed[kSpanEvent] {
		b = append(b, " span_event="...)
		b = append(b, event...)
	}
	b = l.appendTime(b, t)
	b = l.appendTraceID(b, span.TraceID())
	if l.datadog {
		b = l.appendDatadog(b, span.TraceID(), span.ID())
	}
	if closing && !l.skipFixed[kLatency] {
		var ms int64
		if storage.Stored(span) {
			ms = storage.LatencyMillis(span)
		} else {
			ms = span.Duration().Milliseconds()
		}
		b = append(b, " latency_ms="...)
		b = strconv.AppendInt(b, ms, 10)
	}
	fc, transient := l.spanFields(span, false)
	b = appendView(b, fc)
	if transient {
		putTransient(fc)
	}
	b = append(b, '\n')
	l.write(meta.Level, bp, b)
}
