package skywalking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// maxLogsPerSpan bounds the events one span keeps as logs; later ones are counted in
// Stats.LogsDropped.
const maxLogsPerSpan = 128

// Layer exports spans as SkyWalking segments and propagates sw8 headers; see the package
// documentation. Create it with [New] or [FromEnv]; compose one per dispatch. Its hooks
// are safe for concurrent use.
type Layer struct {
	service, instance string
	linger            int64 // nanoseconds
	maxOpen           int64
	maxSpans          int
	compHTTPServer    int32
	compHTTPClient    int32
	compGRPC          int32
	fieldRules        []componentRule
	rep               reporter
	swLayer           string            // the OAP layer given to log records
	logFilter         subscriber.Filter // nil: no log records
	logJSON           bool
	meterSrc          *metrics.Layer // nil: no meters
	logLimit          *pipeline.LogLimiter

	recent recentSpans

	openSegs atomic.Int64

	lingerMu  sync.Mutex
	lingering map[*segment]struct{}

	stop     chan struct{}
	swept    chan struct{} // closed when the sweeper has returned
	metered  chan struct{} // closed when the meter loop has returned (or never ran)
	shutOnce sync.Once
	shutErr  error

	segments, refused, spansDropped, late, unlinked, malformed, logsDropped atomic.Uint64
	logRecords                                                              atomic.Uint64
	meterReports, meterReportsFailed, metersSent, metersInvalid             atomic.Uint64
}

// New returns a layer that reports to the collector given with [WithCollector]; it
// fails, naming the option, on a missing or malformed address, an empty service or
// instance name, or a non-positive duration or size. It starts the layer's goroutines
// (the sweeper that flushes lingering segments, the senders of the segment and log
// queues, the meter reporter with [WithMeters], and the collector client's heartbeat);
// [Layer.Shutdown] (or the dispatch's Shutdown) stops them.
func New(opts ...Option) (*Layer, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return newLayer(&c)
}

// FromEnv is [New] with the configuration SkyWalking agents read from the environment
// first: SW_AGENT_NAME (service), SW_AGENT_INSTANCE_NAME, SW_AGENT_COLLECTOR_BACKEND_SERVICES
// (host:port[,host:port...]), SW_AGENT_AUTHENTICATION, SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD
// (whole seconds) and SW_AGENT_LAYER. Options given explicitly win over the
// environment. A malformed variable is an error naming it.
func FromEnv(opts ...Option) (*Layer, error) {
	var c config
	c.fromEnv()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return newLayer(&c)
}

func newLayer(c *config) (*Layer, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	l := &Layer{
		service:        c.service.v,
		instance:       c.instance.v,
		linger:         int64(c.linger.v),
		maxOpen:        int64(c.maxOpen.v),
		maxSpans:       c.maxSpans.v,
		compHTTPServer: ComponentHTTPServer,
		compHTTPClient: ComponentHTTPClient,
		compGRPC:       ComponentGRPC,
		lingering:      make(map[*segment]struct{}),
		swLayer:        c.layer.v,
		logFilter:      c.logFilter,
		logJSON:        c.logJSON,
		meterSrc:       c.meterSrc,
		logLimit:       pipeline.NewLogLimiter(c.logf, pipeline.LogEvery),
		metered:        make(chan struct{}),
		stop:           make(chan struct{}),
		swept:          make(chan struct{}),
	}
	l.recent.init(recentSize)
	for _, r := range c.components {
		switch r.kind {
		case "http.server":
			l.compHTTPServer = r.id
		case "http.client":
			l.compHTTPClient = r.id
		case "grpc":
			l.compGRPC = r.id
		default:
			l.fieldRules = append(l.fieldRules, r)
		}
	}
	l.rep = c.rep
	if l.rep == nil && c.exporter != nil {
		l.rep = newExporterReporter(c)
		l.logFilter, l.meterSrc = nil, nil // no transport for them
	}
	if l.rep == nil {
		rep, err := dialReporter(c)
		if err != nil {
			return nil, err
		}
		l.rep = rep
	}
	go l.sweeper(c.linger.v)
	if l.meterSrc != nil {
		go l.meterLoop(c.meterPeriod.v)
	} else {
		close(l.metered)
	}
	return l, nil
}

// dataOf returns the layer's data for span, or nil when the layer did not see it start.
func (l *Layer) dataOf(span subscriber.SpanRef) *spanData {
	r := span.Record()
	if r == nil {
		return nil
	}
	if d := slot.Peek(r); d != nil && d.owner == l {
		return d
	}
	return nil
}

// OnNewSpan puts the span in its segment: its parent's, or a new one for a local root.
func (l *Layer) OnNewSpan(span subscriber.SpanRef, fields []slog.Attr) {
	d := slot.Get(span.Record())
	if d == nil || d.owner != nil {
		return // a record older than the slot; or another skywalking layer's span
	}
	d.owner = l
	st := startOf(span, fields)
	// The nearest ancestor this layer saw: a parent filtered away from it is skipped.
	top := span
	for p := span.Parent(); !p.IsZero(); p = p.Parent() {
		if pd := l.dataOf(p); pd != nil {
			seg, idx := pd.lockSpan()
			if seg == nil {
				l.spansDropped.Add(1) // the parent is not exported: neither are its children
				return
			}
			seg, idx = follow(seg, idx)
			l.join(span, d, &st, seg, idx)
			return
		}
		top = p
	}
	switch rp := top.Remote(); {
	case rp != nil:
		var ref *agentv3.SegmentReference
		var corr []Correlation
		if r, ok := rp.Data.(*Remote); ok && rp.Propagator == PropagatorName {
			ref = crossProcessRef(r)
			corr = r.Correlation
		}
		l.newSegment(span, d, &st, ref, corr)
	case top.ParentEnded():
		// Started from the ctx of a span whose record is gone: find its segment among
		// those its spans recently ended in.
		if seg := l.recent.get(top.ParentID()); seg != nil {
			seg.mu.Lock()
			if idx := seg.indexOf(top.ParentID()); idx >= 0 {
				seg, idx = follow(seg, idx)
				l.join(span, d, &st, seg, idx)
				return
			}
			seg.mu.Unlock()
		}
		l.unlinked.Add(1)
		l.newSegment(span, d, &st, nil, nil)
	default:
		l.newSegment(span, d, &st, nil, nil)
	}
}

// join adds span to the locked seg as a child of span pidx, and unlocks seg. A segment
// already reported is not reopened: the span starts a new one that refers to it.
func (l *Layer) join(span subscriber.SpanRef, d *spanData, st *startInfo, seg *segment, pidx int32) {
	if seg.done {
		ref := seg.crossThreadRef(l, pidx)
		corr := seg.corr
		seg.mu.Unlock()
		l.newSegment(span, d, st, ref, corr)
		return
	}
	if len(seg.entries) >= l.maxSpans {
		seg.sizeLimited = true
		seg.mu.Unlock()
		l.spansDropped.Add(1)
		return
	}
	seg.add(span, d, pidx, st, nil)
	seg.mu.Unlock()
}

// newSegment starts a segment with span as its first span, or counts the span dropped
// when the open-segment cap is reached. corr is the correlation the trace carries.
func (l *Layer) newSegment(span subscriber.SpanRef, d *spanData, st *startInfo, ref *agentv3.SegmentReference, corr []Correlation) {
	if l.openSegs.Add(1) > l.maxOpen {
		l.openSegs.Add(-1)
		l.refused.Add(1)
		l.spansDropped.Add(1)
		return
	}
	seg := newSegment(span.TraceID())
	seg.corr = corr
	// Reachable by no other goroutine before OnNewSpan returns (children need the span's
	// ctx, the recent-span table and the sweeper see it only after a span of it ended).
	seg.add(span, d, -1, st, ref)
}

func crossProcessRef(r *Remote) *agentv3.SegmentReference {
	return &agentv3.SegmentReference{
		RefType:                  agentv3.RefType_CrossProcess,
		TraceId:                  r.TraceID,
		ParentTraceSegmentId:     r.ParentSegmentID,
		ParentSpanId:             r.ParentSpanID,
		ParentService:            r.ParentService,
		ParentServiceInstance:    r.ParentInstance,
		ParentEndpoint:           r.ParentEndpoint,
		NetworkAddressUsedAtPeer: r.AddressUsedAtClient,
	}
}

// OnFollowsFrom links a span that starts a segment of its own to the span it follows
// from (a task of subscriber.Tracer.Go follows from the caller's span, without being
// its child): the segment's first span gets a CrossThread reference to that span, and
// the trace's correlation. Nothing changes for a span that is not the first of its
// segment, already has a reference, or follows a span of another trace or that this
// layer does not export.
func (l *Layer) OnFollowsFrom(span, follows subscriber.SpanRef) {
	d, fd := l.dataOf(span), l.dataOf(follows)
	if d == nil || fd == nil || span.TraceID() != follows.TraceID() {
		return
	}
	fseg, fidx := fd.lockSpan()
	if fseg == nil {
		return
	}
	fseg, fidx = follow(fseg, fidx)
	ref := fseg.crossThreadRef(l, fidx)
	corr := fseg.corr
	fseg.mu.Unlock()
	seg, idx := d.lockSpan()
	if seg == nil {
		return
	}
	if e := &seg.entries[idx]; seg != fseg && idx == 0 && e.obj != nil && len(e.obj.Refs) == 0 && !e.closed {
		e.obj.Refs = append(e.obj.Refs, ref)
		if seg.corr == nil {
			seg.corr = corr
		}
	}
	seg.mu.Unlock()
}

// OnRecord follows a renamed span (otel.name) or a span type given late (otel.kind).
func (l *Layer) OnRecord(span subscriber.SpanRef, fields []slog.Attr) {
	var name string
	kind, kindSet := agentv3.SpanType_Local, false
	for i := range fields {
		switch fields[i].Key {
		case "otel.name":
			name = fields[i].Value.String()
		case "otel.kind":
			kind, kindSet = spanType(fields[i].Value), true
		}
	}
	if name == "" && !kindSet {
		return
	}
	d := l.dataOf(span)
	if d == nil {
		return
	}
	seg, idx := d.lockSpan()
	if seg == nil {
		return
	}
	if e := &seg.entries[idx]; e.obj != nil {
		if name != "" {
			e.obj.OperationName = name
		}
		if kindSet {
			e.obj.SpanType = kind
			if kind == agentv3.SpanType_Entry && (seg.entryIdx < 0 || seg.entryIdx > idx) {
				seg.entryIdx = idx
			}
		}
	}
	seg.mu.Unlock()
}

// OnEvent keeps an event logged inside a span as a log of that span, and reports the
// events the log filter ([WithLogFilter]) enables as log records, with the trace
// context of the span they happened in.
func (l *Layer) OnEvent(ev *subscriber.Event) {
	wantLog := l.wantsLog(ev)
	d := l.dataOf(ev.Span)
	if d == nil {
		if wantLog {
			l.sendLog(ev, logSpan{})
		}
		return
	}
	isErr := false
	for i := range ev.Attrs {
		if isErrorKey(ev.Attrs[i].Key) && subscriber.IsErrorValue(ev.Attrs[i].Value) {
			isErr = true
		}
	}
	lg := spanLog(ev)
	seg, idx := d.lockSpan()
	if seg == nil {
		if wantLog {
			l.sendLog(ev, logSpan{})
		}
		return
	}
	var at logSpan
	if wantLog {
		at = logSpanLocked(seg, idx)
	}
	if e := &seg.entries[idx]; e.obj != nil && !e.closed {
		if len(e.obj.Logs) < maxLogsPerSpan {
			e.obj.Logs = append(e.obj.Logs, lg)
		} else {
			l.logsDropped.Add(1)
		}
		if isErr {
			e.obj.IsError = true
		}
	}
	seg.mu.Unlock()
	if wantLog {
		l.sendLog(ev, at)
	}
}

// OnClose completes the span in its segment, and reports the segment when it was the
// segment's last open span.
func (l *Layer) OnClose(span subscriber.SpanRef) {
	d := l.dataOf(span)
	if d == nil {
		return
	}
	if d.seg.Load() == nil {
		return // not exported
	}
	var buf [16]slog.Attr
	fields := span.Fields(buf[:0])
	end := span.End().UnixMilli()
	failed := span.Failed()
	seg, idx := d.lockSpan()
	if seg == nil {
		return
	}
	e := &seg.entries[idx]
	ci := l.closeOf(fields, e.obj.SpanType, seg.data)
	clear(fields)
	obj := e.obj
	obj.EndTime = end
	if ci.name != "" {
		obj.OperationName = ci.name
	}
	obj.SpanType = ci.kind
	obj.SpanLayer = ci.layer
	obj.ComponentId = ci.component
	obj.Peer = ci.peer
	obj.IsError = obj.IsError || ci.isError || failed
	obj.Tags = ci.tags
	if ci.kind == agentv3.SpanType_Entry && (seg.entryIdx < 0 || seg.entryIdx > idx) {
		seg.entryIdx = idx
	}
	e.closed = true
	e.sd = nil
	seg.open--
	l.recent.put(span.ID(), seg)
	if seg.open > 0 {
		if idx == 0 {
			// The first span ended with others open: from now on the sweeper watches
			// the segment's linger.
			seg.rootEnd = max(registry.Nanotime(), 1)
			seg.lingering = true
			l.lingerMu.Lock()
			l.lingering[seg] = struct{}{}
			l.lingerMu.Unlock()
		}
		seg.mu.Unlock()
		return
	}
	so := l.finish(seg)
	seg.mu.Unlock()
	l.report(so)
}

// finish marks the locked seg reported and returns its SegmentObject.
func (l *Layer) finish(seg *segment) *agentv3.SegmentObject {
	so := seg.finishLocked(l)
	if seg.lingering {
		seg.lingering = false
		l.lingerMu.Lock()
		delete(l.lingering, seg)
		l.lingerMu.Unlock()
	}
	l.openSegs.Add(-1)
	return so
}

func (l *Layer) report(so *agentv3.SegmentObject) {
	if len(so.Spans) == 0 {
		return
	}
	l.segments.Add(1)
	l.rep.report(so)
}

// Flush delivers the segments queued so far to the collector, within ctx.
func (l *Layer) Flush(ctx context.Context) error { return l.rep.flush(ctx) }

// Shutdown stops the layer within ctx: it reports the segments waiting for late spans
// (their ended spans; spans still open then are not exported), stops the sweeper,
// delivers what is queued and closes the connection. The error says what was lost: the
// segments still open, and what the queue could not deliver. Calling it again returns
// the first call's result.
func (l *Layer) Shutdown(ctx context.Context) error {
	l.shutOnce.Do(func() {
		close(l.stop)
		var errs []error
		select {
		case <-l.swept:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("skywalking: the sweeper did not stop: %w", ctx.Err()))
		}
		select {
		case <-l.metered:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("skywalking: the meter reporter did not stop: %w", ctx.Err()))
		}
		// Whatever waits for late spans goes now.
		l.sweep(0, true)
		// The last values of the meters, so that a short-lived program loses none.
		if l.meterSrc != nil {
			if err := l.reportMeters(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if n := l.openSegs.Load(); n > 0 {
			errs = append(errs, fmt.Errorf("skywalking: segments with spans still open at shutdown: %d (the spans still open were not exported)", n))
		}
		if err := l.rep.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		l.shutErr = errors.Join(errs...)
	})
	return l.shutErr
}
