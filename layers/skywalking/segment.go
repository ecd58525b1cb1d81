package skywalking

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// spanData is the layer's per-span value, kept in a registry slot and pooled with the
// span's record. It is valid while the record lives: from OnNewSpan until the record is
// released, after OnClose and after the span's children were released.
type spanData struct {
	owner *Layer
	// seg is the segment the span is in: set in OnNewSpan, changed only by the sweeper
	// when it moves a late (still open) span to a new segment. nil for a span the layer
	// does not export (dropped).
	seg atomic.Pointer[segment]
	// idx is the span's index (its SkyWalking span id) in *seg, read and written under
	// seg.mu of the segment seg points to.
	idx int32
}

var slot = registry.NewSlot(func(d *spanData) {
	d.owner = nil
	d.seg.Store(nil)
	d.idx = 0
})

// segment is the spans of one trace in this process under one local root. Its spans'
// hooks run concurrently: everything in it is guarded by mu.
type segment struct {
	mu sync.Mutex
	// trace and rnd are the trace id and the segment id's 128 random bits; traceID and
	// id their text, made when first needed (idsLocked), at the latest when reported.
	trace       registry.TraceID
	rnd         [2]uint64
	traceID, id string
	// entries are the spans in creation order: entries[i] is span id i. After the segment
	// was reported they keep only their span ids, for children of its ended spans.
	entries []entry
	open    int32 // spans not yet ended
	// rootEnd is when the first span ended (registry.Nanotime), 0 while it is open.
	rootEnd int64
	// done: reported (or given up); spans that would join it start a new segment.
	done      bool
	lingering bool // in Layer.lingering: the root ended, spans are open
	// entryIdx is the first entry span, whose operation name is the segment's endpoint;
	// -1 when there is none (the first span's name is the endpoint then).
	entryIdx int32
	endpoint string // the endpoint, fixed when the segment is reported
	// corr is the sw8-correlation the segment's remote parent carried, passed on by Inject.
	corr        []Correlation
	sizeLimited bool
	// moved maps spans that the sweeper moved to later segments to where they are now.
	moved []forward
	// inline holds the first entries, so that a small segment is one allocation.
	inline [4]entry
	// data is what is reported; nil once it was.
	data *segData
	// ids holds the trace id and segment id text (when the trace id is short enough).
	ids [64]byte
}

// segData is the memory a segment's report is built in: the SegmentObject, its spans and
// their tags, allocated together so that a request of a few spans costs a couple of
// allocations instead of a few per span. It is handed to the queue whole, apart from
// the segment, which the recent-span table may keep for a while after the report.
//
// After the queue's sender is done with a batch, the segData of each segment goes back
// to a pool (recycleSegments), unless its span objects are still in use: spans the
// sweeper moved to a later segment keep theirs (shared).
type segData struct {
	out    agentv3.SegmentObject // first: a reported *SegmentObject is its segData
	shared bool
	ptrs   [3]*agentv3.SpanObject
	objs   [3]agentv3.SpanObject
	kv     [6]commonv3.KeyStringValuePair
	kvp    [6]*commonv3.KeyStringValuePair
	nobj   int                            // objs used
	moreO  []agentv3.SpanObject           // a further chunk of span objects, when objs is full
	moreK  []commonv3.KeyStringValuePair  // a further chunk of tags, when kv is full
	moreP  []*commonv3.KeyStringValuePair // its pointers
	nkv    int                            // kv used
}

var segDataPool sync.Pool

// newSegData returns a zeroed segData, from the pool when it has one.
func newSegData() *segData {
	if d, ok := segDataPool.Get().(*segData); ok {
		return d
	}
	return new(segData)
}

// recycleSegments returns the memory of segments a sender is done with to the pool:
// nothing may use segs, their spans, tags or logs afterwards. Every reported
// SegmentObject is the out field of a segData (finishLocked).
func recycleSegments(segs []*agentv3.SegmentObject) {
	for _, so := range segs {
		d := (*segData)(unsafe.Pointer(so))
		if d.shared {
			continue
		}
		*d = segData{}
		segDataPool.Put(d)
	}
}

// recycling wraps a segment sender: once send is done with a batch (delivered or
// failed; not when it asks for a retry, as the pipeline then sends the batch again),
// the batch's segments are recycled.
func recycling(send func(context.Context, []*agentv3.SegmentObject) error) pipeline.SenderFunc[*agentv3.SegmentObject] {
	return func(ctx context.Context, segs []*agentv3.SegmentObject) error {
		err := send(ctx, segs)
		if err == nil || !pipeline.IsRetry(err) {
			recycleSegments(segs)
		}
		return err
	}
}

// newSegment returns an open segment of the trace, with no span yet.
func newSegment(trace registry.TraceID) *segment {
	s := &segment{entryIdx: -1, data: newSegData(), trace: trace, rnd: [2]uint64{rand.Uint64(), rand.Uint64()}}
	s.entries = s.inline[:0]
	return s
}

// idsLocked returns the trace id and segment id text of the locked s, making them the
// first time.
func (s *segment) idsLocked() (traceID, id string) {
	if s.id == "" {
		// In the segment (in one allocation when the trace id is longer), never
		// written again.
		b, _ := s.trace.AppendText(s.ids[:0])
		n := len(b)
		b = appendSegmentID(b, s.rnd)
		ids := unsafe.String(unsafe.SliceData(b), len(b))
		s.traceID, s.id = ids[:n], ids[n:]
	}
	return s.traceID, s.id
}

// spanObject returns a zeroed span object from the segment's memory.
func (d *segData) spanObject() *agentv3.SpanObject {
	if d.nobj < len(d.objs) {
		d.nobj++
		return &d.objs[d.nobj-1]
	}
	if len(d.moreO) == 0 {
		d.moreO = make([]agentv3.SpanObject, min(max(2*d.nobj, 8), 64))
	}
	o := &d.moreO[0]
	d.moreO = d.moreO[1:]
	d.nobj++
	return o
}

// tags returns n tag pairs and the slice of pointers to them, from the segment's memory.
func (d *segData) tags(n int) ([]commonv3.KeyStringValuePair, []*commonv3.KeyStringValuePair) {
	if d.nkv+n <= len(d.kv) {
		kv, p := d.kv[d.nkv:d.nkv+n:d.nkv+n], d.kvp[d.nkv:d.nkv+n:d.nkv+n]
		d.nkv += n
		return kv, p
	}
	if len(d.moreK) < n {
		size := max(n, 16)
		d.moreK, d.moreP = make([]commonv3.KeyStringValuePair, size), make([]*commonv3.KeyStringValuePair, size)
	}
	kv, p := d.moreK[:n:n], d.moreP[:n:n]
	d.moreK, d.moreP = d.moreK[n:], d.moreP[n:]
	return kv, p
}

type entry struct {
	obj    *agentv3.SpanObject // nil once reported
	sd     *spanData           // while the span is open
	id     registry.SpanID
	parent int32
	closed bool
}

// forward says that span from of a segment now is span idx of segment to.
type forward struct {
	from int32
	to   *segment
	idx  int32
}

// appendSegmentID appends the 32 lowercase hex characters of rnd.
func appendSegmentID(dst []byte, rnd [2]uint64) []byte {
	for _, v := range rnd {
		for shift := 60; shift >= 0; shift -= 4 {
			dst = append(dst, hexDigits[v>>uint(shift)&0xf])
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// lockSpan locks the segment d is in and returns it with the span's index, following
// the sweeper's moves. It returns nil for a span the layer does not export.
func (d *spanData) lockSpan() (*segment, int32) {
	for {
		seg := d.seg.Load()
		if seg == nil {
			return nil, 0
		}
		seg.mu.Lock()
		if d.seg.Load() == seg {
			return seg, d.idx
		}
		seg.mu.Unlock() // moved meanwhile
	}
}

// follow returns where span idx of the locked segment s is now, locked: s itself, or
// the segment the sweeper moved it to.
func follow(s *segment, idx int32) (*segment, int32) {
	for {
		f, ok := s.forwardOf(idx)
		if !ok {
			return s, idx
		}
		s.mu.Unlock()
		s, idx = f.to, f.idx
		s.mu.Lock()
	}
}

func (s *segment) forwardOf(idx int32) (forward, bool) {
	for _, f := range s.moved {
		if f.from == idx {
			return f, true
		}
	}
	return forward{}, false
}

// indexOf returns the index of the span with id, or -1.
func (s *segment) indexOf(id registry.SpanID) int32 {
	for i := range s.entries {
		if s.entries[i].id == id {
			return int32(i)
		}
	}
	return -1
}

// endpointLocked is the segment's endpoint: the operation name of its first entry span,
// or of its first span.
func (s *segment) endpointLocked() string {
	if s.done {
		return s.endpoint
	}
	i := s.entryIdx
	if i < 0 {
		i = 0
	}
	if int(i) < len(s.entries) && s.entries[i].obj != nil {
		return s.entries[i].obj.OperationName
	}
	return s.endpoint
}

// crossThreadRef is the reference from a new segment to span idx of the locked s.
func (s *segment) crossThreadRef(l *Layer, idx int32) *agentv3.SegmentReference {
	traceID, id := s.idsLocked()
	return &agentv3.SegmentReference{
		RefType:               agentv3.RefType_CrossThread,
		TraceId:               traceID,
		ParentTraceSegmentId:  id,
		ParentSpanId:          idx,
		ParentService:         l.service,
		ParentServiceInstance: l.instance,
		ParentEndpoint:        s.endpointLocked(),
	}
}

// add appends a started span to the locked s as a child of span parent (-1: the
// segment's first span).
func (s *segment) add(span subscriber.SpanRef, d *spanData, parent int32, st *startInfo, ref *agentv3.SegmentReference) {
	idx := int32(len(s.entries))
	obj := s.data.spanObject()
	obj.SpanId = idx
	obj.ParentSpanId = parent
	obj.StartTime = span.Start().UnixMilli()
	obj.OperationName = st.name
	obj.SpanType = st.kind
	if ref != nil {
		obj.Refs = []*agentv3.SegmentReference{ref}
	}
	s.entries = append(s.entries, entry{obj: obj, sd: d, id: span.ID(), parent: parent})
	s.open++
	if st.kind == agentv3.SpanType_Entry && s.entryIdx < 0 {
		s.entryIdx = idx
	}
	d.idx = idx
	d.seg.Store(s)
}

// finishLocked makes the locked s done and returns what is to be reported: its ended
// spans that were not moved, in span id order. It keeps the entries' ids only.
func (s *segment) finishLocked(l *Layer) *agentv3.SegmentObject {
	s.endpoint = s.endpointLocked()
	s.done = true
	d := s.data
	s.data = nil
	spans := d.ptrs[:0]
	for i := range s.entries {
		e := &s.entries[i]
		if e.obj != nil && e.closed {
			if _, moved := s.forwardOf(int32(i)); !moved {
				spans = append(spans, e.obj)
			}
		}
		e.obj, e.sd = nil, nil
	}
	so := &d.out
	so.TraceId, so.TraceSegmentId = s.idsLocked()
	so.Spans = spans
	so.Service = l.service
	so.ServiceInstance = l.instance
	so.IsSizeLimited = s.sizeLimited
	return so
}

// spanLog is one event of a span as a SkyWalking log.
func spanLog(ev *subscriber.Event) *agentv3.Log {
	n := 2 + len(ev.Attrs)
	kv := make([]commonv3.KeyStringValuePair, n)
	data := make([]*commonv3.KeyStringValuePair, n)
	kv[0].Key, kv[0].Value = "event", levelName(ev.Meta.Level)
	kv[1].Key, kv[1].Value = "message", ev.Message
	for i := range ev.Attrs {
		kv[2+i].Key, kv[2+i].Value = ev.Attrs[i].Key, valueString(ev.Attrs[i].Value)
	}
	for i := range kv {
		data[i] = &kv[i]
	}
	return &agentv3.Log{Time: ev.Time.UnixMilli(), Data: data}
}

func levelName(l subscriber.Level) string {
	switch l {
	case subscriber.LevelTrace:
		return "trace"
	case subscriber.LevelDebug:
		return "debug"
	case subscriber.LevelInfo:
		return "info"
	case subscriber.LevelWarn:
		return "warn"
	case subscriber.LevelError:
		return "error"
	}
	return l.String()
}
