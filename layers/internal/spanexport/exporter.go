package spanexport

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// DefaultMaxEvents is how many events a span keeps by default; later ones are counted in
// Stats.EventsDropped and Span.DroppedEvents.
const DefaultMaxEvents = 128

// maxKeptAttrs bounds the event attributes a pooled record keeps room for between spans.
const maxKeptAttrs = 256

// Config configures an [Exporter].
type Config struct {
	// Pipeline configures the queue; its Name names the exporter in errors and logs.
	Pipeline pipeline.Config
	// MaxEvents is how many events one span keeps; 0: DefaultMaxEvents, negative: none.
	MaxEvents int
}

// Stats counts what became of the spans an exporter saw. Every span closed ends up in
// exactly one of Sent, Dropped and Failed (Queued until then).
type Stats struct {
	// Spans counts the spans closed and offered to the queue.
	Spans uint64
	// Sent counts the spans the peer accepted.
	Sent uint64
	// Dropped counts the spans the queue refused: it was full, or the exporter was shut
	// down.
	Dropped uint64
	// Failed counts the spans lost in flight, or still queued when Shutdown's deadline
	// passed.
	Failed uint64
	// Queued is the number of spans waiting to be sent (or being sent).
	Queued int
	// Retries counts the sends that failed before reaching the peer and were retried.
	Retries uint64
	// EventsDropped counts the events not kept, beyond the per-span limit.
	EventsDropped uint64
}

// state is an exporter's per-span value, in the exporter's own registry slot.
type state struct {
	mu      sync.Mutex
	seen    bool // the exporter saw the span start
	closed  bool
	parent  uint64
	remote  bool
	events  []Event // Attrs nil; evAttrs[i] is where event i's attributes start in arena
	evAttrs []int
	arena   []slog.Attr
	links   []Link
	dropped int
	errMsg  string // the first error field of an event: the span failed
}

func resetState(s *state) {
	s.seen, s.closed, s.parent, s.remote, s.dropped, s.errMsg = false, false, 0, false, 0, ""
	clear(s.events)
	clear(s.arena)
	s.events, s.evAttrs, s.links = s.events[:0], s.evAttrs[:0], s.links[:0]
	if cap(s.arena) > maxKeptAttrs {
		s.arena = nil
	} else {
		s.arena = s.arena[:0]
	}
	if cap(s.events) > DefaultMaxEvents {
		s.events, s.evAttrs = nil, nil
	}
}

// Exporter is the hooks a span exporter layer embeds: it records the spans it sees and
// queues each at its close. Its methods are safe for concurrent use.
type Exporter struct {
	slot      registry.Slot[state]
	maxEvents int
	p         *pipeline.Pipeline[*Span]
	pool      sync.Pool

	spans, eventsDropped atomic.Uint64
}

// Encoder sends a batch of spans; see [pipeline.Sender]. It must not keep the spans.
type Encoder func(ctx context.Context, batch []*Span) error

// New returns an exporter whose pipeline sends batches with send, and starts the
// pipeline's goroutine; [Exporter.Shutdown] stops it. Each exporter has a registry slot
// of its own, so that two exporters composed together keep separate span data.
func New(cfg Config, send Encoder) *Exporter {
	e := &Exporter{
		slot:      registry.NewSlot(resetState),
		maxEvents: cfg.MaxEvents,
	}
	if e.maxEvents == 0 {
		e.maxEvents = DefaultMaxEvents
	}
	e.pool.New = func() any { return new(Span) }
	e.p = pipeline.New(cfg.Pipeline, pipeline.SenderFunc[*Span](func(ctx context.Context, batch []*Span) error {
		err := send(ctx, batch)
		if !pipeline.WillRetry(err) {
			e.recycle(batch)
		}
		return err
	}))
	return e
}

func (e *Exporter) recycle(batch []*Span) {
	for _, s := range batch {
		s.reset()
		e.pool.Put(s)
	}
}

// stateOf returns the exporter's value for a span it saw start, or nil.
func (e *Exporter) stateOf(span subscriber.SpanRef) *state {
	r := span.Record()
	if r == nil {
		return nil
	}
	if st := e.slot.Peek(r); st != nil && st.seen {
		return st
	}
	return nil
}

// OnNewSpan notes the span's parent: the nearest ancestor this exporter saw (a parent
// another filter kept from it is skipped), the ended parent of a span started from its
// ctx, or the remote parent.
func (e *Exporter) OnNewSpan(span subscriber.SpanRef, _ []slog.Attr) {
	r := span.Record()
	if r == nil {
		return
	}
	st := e.slot.Get(r)
	if st == nil {
		return // a record older than the slot
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seen = true
	top := span
	for p := span.Parent(); !p.IsZero(); p = p.Parent() {
		if e.stateOf(p) != nil {
			st.parent = uint64(p.ID())
			return
		}
		top = p
	}
	switch rp := top.Remote(); {
	case top.ParentEnded():
		st.parent = uint64(top.ParentID())
	case rp != nil && rp.SpanID != 0:
		st.parent, st.remote = rp.SpanID, true
	}
}

// OnFollowsFrom records a link from span to follows.
func (e *Exporter) OnFollowsFrom(span, follows subscriber.SpanRef) {
	st := e.stateOf(span)
	if st == nil || follows.IsZero() {
		return
	}
	st.mu.Lock()
	if !st.closed && len(st.links) < e.maxEvents {
		st.links = append(st.links, Link{TraceID: follows.TraceID(), SpanID: follows.ID()})
	}
	st.mu.Unlock()
}

// OnEvent keeps an event logged inside a span as a span event.
func (e *Exporter) OnEvent(ev *subscriber.Event) {
	st := e.stateOf(ev.Span)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	if len(st.events) >= e.maxEvents {
		st.dropped++
		e.eventsDropped.Add(1)
		return
	}
	st.events = append(st.events, Event{Time: ev.Time, Level: ev.Level(), Message: ev.Message})
	st.evAttrs = append(st.evAttrs, len(st.arena))
	for _, a := range ev.Attrs {
		if a.Key == "" {
			continue
		}
		v := copyValue(a.Value)
		st.arena = append(st.arena, slog.Attr{Key: a.Key, Value: v})
		if st.errMsg == "" && IsErrorKey(a.Key) && subscriber.IsErrorValue(v) {
			st.errMsg = v.String()
		}
	}
}

// OnClose copies the span and queues it. It never blocks: a full queue drops it, and
// counts it.
func (e *Exporter) OnClose(span subscriber.SpanRef) {
	st := e.stateOf(span)
	if st == nil {
		return
	}
	s := e.pool.Get().(*Span)
	s.TraceID, s.SpanID = span.TraceID(), span.ID()
	s.Name, s.Target = span.Name(), ""
	if m := span.Metadata(); m != nil {
		s.Target = m.Target
	}
	s.Start, s.End = span.Start(), span.End()
	var buf [16]slog.Attr
	fields := span.Fields(buf[:0])
	var errMsg, statusMsg string
	for _, a := range fields {
		switch a.Key {
		case "otel.kind":
			s.Kind = ParseKind(a.Value.String())
			continue
		case "otel.name":
			if n := a.Value.String(); n != "" {
				s.Name = n
			}
			continue
		case "otel.status_code":
			switch v := a.Value.String(); {
			case equalFold(v, "error"):
				s.Status = StatusError
			case equalFold(v, "ok") && s.Status != StatusError:
				s.Status = StatusOK
			}
			continue
		case "otel.status_message":
			statusMsg = a.Value.String()
			continue
		case "error":
			if subscriber.IsErrorValue(a.Value) {
				s.Status = StatusError
				errMsg = copyValue(a.Value).String()
			}
		}
		if !isInternal(a.Key) {
			s.Attrs = append(s.Attrs, slog.Attr{Key: a.Key, Value: copyValue(a.Value)})
		}
	}
	clear(fields)
	if span.Failed() {
		s.Status = StatusError
		if err := span.Err(); err != nil && errMsg == "" {
			errMsg = err.Error()
		}
	}
	if s.Status == StatusError {
		s.StatusMessage = errMsg
		if statusMsg != "" {
			s.StatusMessage = statusMsg
		}
	}
	if _, orig := TraceID128(s.TraceID); orig != "" {
		s.Attrs = append(s.Attrs, slog.String(OriginalTraceIDKey, orig))
	}

	st.mu.Lock()
	st.closed = true
	if st.errMsg != "" && s.Status != StatusError {
		s.Status, s.StatusMessage = StatusError, st.errMsg
	}
	s.ParentID, s.RemoteParent = st.parent, st.remote
	s.DroppedEvents = st.dropped
	s.Links = append(s.Links, st.links...)
	for i := range st.events {
		ev := st.events[i]
		end := len(st.arena)
		if i+1 < len(st.evAttrs) {
			end = st.evAttrs[i+1]
		}
		// One copy of the arena would do, but events are few: each gets its own slice
		// of the span's attribute memory.
		off := len(s.Attrs)
		s.Attrs = append(s.Attrs, st.arena[st.evAttrs[i]:end]...)
		ev.Attrs = s.Attrs[off:len(s.Attrs):len(s.Attrs)]
		s.Events = append(s.Events, ev)
	}
	st.mu.Unlock()
	// The events' attributes live in s.Attrs after the span's own: cut those off.
	s.Attrs = s.Attrs[:len(s.Attrs)-eventAttrCount(s.Events)]

	e.spans.Add(1)
	if !e.p.Enqueue(s) {
		s.reset()
		e.pool.Put(s)
	}
}

// IsErrorKey reports whether a field key holds an error ("error", "error.message",
// "error.type", "error_msg", "error_stack", "error_type"): an event with one inside a
// span marks the span failed, as the storage and SkyWalking layers do.
func IsErrorKey(k string) bool {
	switch k {
	case "error", "error.message", "error.type", "error_msg", "error_stack", "error_type":
		return true
	}
	return false
}

func eventAttrCount(evs []Event) int {
	n := 0
	for i := range evs {
		n += len(evs[i].Attrs)
	}
	return n
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// Flush sends what is queued, within ctx.
func (e *Exporter) Flush(ctx context.Context) error { return e.p.Flush(ctx) }

// Shutdown stops the pipeline within ctx, delivering what is queued; its error says
// what was lost.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.p.Shutdown(ctx) }

// Stats returns the exporter's counters.
func (e *Exporter) Stats() Stats {
	q := e.p.Stats()
	return Stats{
		Spans:         e.spans.Load(),
		Sent:          q.Sent,
		Dropped:       q.Dropped,
		Failed:        q.Failed,
		Queued:        q.Queued,
		Retries:       q.Retries,
		EventsDropped: e.eventsDropped.Load(),
	}
}

// Gauges returns the exporter's self-metrics by Prometheus series name, each name
// starting with prefix ("strata_otlp"), for the metrics layer's RegisterGauge.
func (e *Exporter) Gauges(prefix string) map[string]func() float64 {
	return map[string]func() float64{
		prefix + "_spans_total":          func() float64 { return float64(e.spans.Load()) },
		prefix + "_spans_sent_total":     func() float64 { return float64(e.p.Stats().Sent) },
		prefix + "_spans_dropped_total":  func() float64 { return float64(e.p.Stats().Dropped) },
		prefix + "_spans_failed_total":   func() float64 { return float64(e.p.Stats().Failed) },
		prefix + "_queue_length":         func() float64 { return float64(e.p.Stats().Queued) },
		prefix + "_retries_total":        func() float64 { return float64(e.p.Stats().Retries) },
		prefix + "_events_dropped_total": func() float64 { return float64(e.eventsDropped.Load()) },
	}
}
