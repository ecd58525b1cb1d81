package skywalking

import (
	"unsafe"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// PropagatorName is the [subscriber.RemoteParent].Propagator of remote parents the
// layer extracts.
const PropagatorName = "sw8"

// Remote is the [subscriber.RemoteParent].Data of a remote parent extracted from sw8
// headers: the decoded header, and the sw8-correlation key/values, which spans of the
// trace pass on in their own headers.
type Remote struct {
	SW8
	Correlation []Correlation
}

// extracted is a RemoteParent and its Data in one allocation.
type extracted struct {
	rp subscriber.RemoteParent
	r  Remote
}

// Extract reads a remote parent from the carrier's sw8 header (and sw8-correlation). A
// missing header gives false; so does a malformed one, which is counted
// (Stats.MalformedHeaders) and never fails the request: the span starts a new trace.
// The trace id is kept exactly as the caller wrote it.
func (l *Layer) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	v := c.Get(HeaderSW8)
	if v == "" {
		return nil, false
	}
	h, err := DecodeSW8(v)
	if err != nil {
		l.malformed.Add(1)
		return nil, false
	}
	x := &extracted{r: Remote{SW8: h}}
	if cv := c.Get(HeaderCorrelation); cv != "" {
		x.r.Correlation = DecodeCorrelation(cv)
	}
	x.rp = subscriber.RemoteParent{
		TraceID:    registry.ParseTraceID(h.TraceID),
		Sampled:    h.Sampled,
		Propagator: PropagatorName,
		Data:       &x.r,
	}
	return &x.rp, true
}

// Inject writes the sw8 header for a call made inside span (normally an exit span):
// the span's segment and span id, this service and instance, the segment's endpoint
// and the span's peer as the address used. It writes sw8-correlation when the trace
// carries correlation from upstream. A span the layer does not export (filtered away
// from it) is represented by its nearest exported ancestor; when there is none,
// nothing is written.
func (l *Layer) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	var d *spanData
	for p := span; !p.IsZero(); p = p.Parent() {
		if d = l.dataOf(p); d != nil {
			break
		}
	}
	if d == nil {
		return
	}
	peer := peerOf(span)
	seg, idx := d.lockSpan()
	if seg == nil {
		return
	}
	seg, idx = follow(seg, idx) // an ended ancestor the sweeper moved
	traceID, segID := seg.idsLocked()
	h := SW8{
		Sampled:             true,
		TraceID:             traceID,
		ParentSegmentID:     segID,
		ParentSpanID:        idx,
		ParentService:       l.service,
		ParentInstance:      l.instance,
		ParentEndpoint:      seg.endpointLocked(),
		AddressUsedAtClient: peer,
	}
	corr := seg.corr
	seg.mu.Unlock()
	c.Set(HeaderSW8, h.Encode())
	if len(corr) > 0 {
		b := AppendCorrelation(nil, corr)
		c.Set(HeaderCorrelation, unsafe.String(unsafe.SliceData(b), len(b)))
	}
}
