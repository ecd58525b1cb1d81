package datadog

import (
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// The headers of Datadog's propagation, as dd-trace-go writes them.
const (
	HeaderTraceID          = "x-datadog-trace-id"
	HeaderParentID         = "x-datadog-parent-id"
	HeaderSamplingPriority = "x-datadog-sampling-priority"
	HeaderOrigin           = "x-datadog-origin"
	HeaderTags             = "x-datadog-tags"
)

// PropagatorName is the [subscriber.RemoteParent].Propagator of remote parents this
// package extracts.
const PropagatorName = "datadog"

// maxTagsLen is the longest x-datadog-tags header accepted, Datadog tracers' default
// (DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH); maxOriginLen bounds x-datadog-origin.
const (
	maxTagsLen   = 512
	maxOriginLen = 256
)

// The sampling priorities of Datadog's tracers.
const (
	PriorityUserReject = -1
	PriorityAutoReject = 0
	PriorityAutoKeep   = 1
	PriorityUserKeep   = 2
)

// Remote is the [subscriber.RemoteParent].Data of a remote parent this package
// extracted.
type Remote struct {
	// TraceIDHigh and TraceIDLow are the two halves of the trace id: _dd.p.tid (0 when
	// absent) and x-datadog-trace-id.
	TraceIDHigh, TraceIDLow uint64
	// ParentID is x-datadog-parent-id.
	ParentID uint64
	// Priority is x-datadog-sampling-priority, when HasPriority.
	Priority    int
	HasPriority bool
	// Origin is x-datadog-origin ("synthetics", "rum", ...), or "".
	Origin string
	// Tags are the propagated _dd.p.* tags of x-datadog-tags but _dd.p.tid, as
	// "key=value" pairs joined by commas, passed on by Inject.
	Tags string
}

// Propagation reads and writes Datadog's x-datadog-* headers. A [Layer] is one; use
// [Propagator] for a service that only passes traces on without exporting spans. Its
// methods are safe for concurrent use.
type Propagation struct {
	malformed atomic.Uint64
	// priority decides the sampling priority of a trace that has none from upstream;
	// nil: keep.
	priority func(traceLow uint64) int
}

// Propagator returns a standalone Datadog propagator: a layer with no hooks, only
// [subscriber.Propagator], for services that pass traces on without exporting to an
// Agent. Traces it did not receive a priority for are injected with priority 1 (keep).
//
//	d, err := subscriber.New(storage.New(), otlpLayer, datadog.Propagator())
func Propagator() *Propagation {
	return &Propagation{}
}

// MalformedHeaders counts the carriers whose Datadog headers Extract could not decode.
func (p *Propagation) MalformedHeaders() uint64 { return p.malformed.Load() }

// extracted is a RemoteParent and its Data in one allocation.
type extracted struct {
	rp subscriber.RemoteParent
	r  Remote
}

// Extract reads x-datadog-trace-id (decimal, the lower 64 bits of the trace id),
// x-datadog-parent-id (decimal), x-datadog-sampling-priority, x-datadog-origin and
// the _dd.p.tid of x-datadog-tags (16 lowercase hex digits, the upper 64 bits). Without
// x-datadog-trace-id it reports false. A malformed header (ids that are not decimal or
// are zero, a priority that is not an integer, tags longer than 512 bytes or not
// key=value pairs, a _dd.p.tid that is not 16 hex digits) also reports false, and is
// counted: the span starts a new trace. It never panics.
func (p *Propagation) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	tid := c.Get(HeaderTraceID)
	if tid == "" {
		return nil, false
	}
	r, ok := parseHeaders(tid, c.Get(HeaderParentID), c.Get(HeaderSamplingPriority), c.Get(HeaderOrigin), c.Get(HeaderTags))
	if !ok {
		p.malformed.Add(1)
		return nil, false
	}
	x := &extracted{r: r}
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], r.TraceIDHigh)
	binary.BigEndian.PutUint64(id[8:], r.TraceIDLow)
	x.rp = subscriber.RemoteParent{
		TraceID:    registry.TraceIDFromBytes(id),
		Sampled:    !r.HasPriority || r.Priority > 0,
		SpanID:     r.ParentID,
		Propagator: PropagatorName,
		Data:       &x.r,
	}
	return &x.rp, true
}

func parseHeaders(tid, pid, prio, origin, tags string) (Remote, bool) {
	var r Remote
	var err error
	if r.TraceIDLow, err = strconv.ParseUint(tid, 10, 64); err != nil || r.TraceIDLow == 0 || tid[0] == '+' {
		return r, false
	}
	if pid == "" || pid[0] == '+' {
		return r, false
	}
	if r.ParentID, err = strconv.ParseUint(pid, 10, 64); err != nil || r.ParentID == 0 {
		return r, false
	}
	if prio != "" {
		n, err := strconv.Atoi(prio)
		if err != nil || prio[0] == '+' || n < -128 || n > 127 {
			return r, false
		}
		r.Priority, r.HasPriority = n, true
	}
	if len(origin) > maxOriginLen {
		return r, false
	}
	r.Origin = origin
	if len(tags) > maxTagsLen {
		return r, false
	}
	var kept strings.Builder
	for tags != "" {
		var pair string
		pair, tags, _ = strings.Cut(tags, ",")
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || !validTag(k) || !validTag(v) {
			return r, false
		}
		if k == "_dd.p.tid" {
			if len(v) != 16 {
				return r, false
			}
			hi, err := strconv.ParseUint(v, 16, 64)
			if err != nil || !isLowerHex(v) {
				return r, false
			}
			r.TraceIDHigh = hi
			continue
		}
		if strings.HasPrefix(k, "_dd.p.") {
			if kept.Len() > 0 {
				kept.WriteByte(',')
			}
			kept.WriteString(k)
			kept.WriteByte('=')
			kept.WriteString(v)
		}
	}
	r.Tags = kept.String()
	return r, true
}

// validTag accepts the printable ASCII of Datadog's propagated tags, without the pair
// and key separators.
func validTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Inject writes the span's context as Datadog headers: the lower 64 bits of its trace
// id in decimal, its span id as the parent id, the trace's sampling priority (the one
// received from upstream, else the layer's decision from the Agent's rates), the origin
// received, and x-datadog-tags with the _dd.p.* tags received and _dd.p.tid (the upper 64
// bits in hex) when they are not zero.
func (p *Propagation) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	if span.IsZero() || span.TraceID().IsZero() {
		return
	}
	id, _ := spanexport.TraceID128(span.TraceID())
	hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
	if lo == 0 || span.ID() == 0 {
		return // Datadog ids are never zero
	}
	var buf [20]byte
	c.Set(HeaderTraceID, string(strconv.AppendUint(buf[:0], lo, 10)))
	c.Set(HeaderParentID, string(strconv.AppendUint(buf[:0], uint64(span.ID()), 10)))

	// The remote parent the span's local root continues, if any.
	top := span
	for q := span.Parent(); !q.IsZero(); q = q.Parent() {
		top = q
	}
	rp := top.Remote()
	var r *Remote
	if rp != nil && rp.Propagator == PropagatorName {
		r, _ = rp.Data.(*Remote)
	}
	prio, ok := upstreamPriority(rp)
	if !ok {
		if p.priority != nil {
			prio = p.priority(lo)
		} else {
			prio = PriorityAutoKeep
		}
	}
	c.Set(HeaderSamplingPriority, strconv.Itoa(prio))
	var tags []byte
	if r != nil {
		if r.Origin != "" {
			c.Set(HeaderOrigin, r.Origin)
		}
		tags = append(tags, r.Tags...)
	}
	if hi != 0 {
		if len(tags) > 0 {
			tags = append(tags, ',')
		}
		tags = append(tags, "_dd.p.tid="...)
		tags = appendHex64(tags, hi)
	}
	if len(tags) > 0 {
		c.Set(HeaderTags, string(tags))
	}
}

const hexDigits = "0123456789abcdef"

// appendHex64 appends v as 16 lowercase hex digits.
func appendHex64(b []byte, v uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[v>>uint(i)&0xf])
	}
	return b
}

// priorities remembers the sampling priorities traces received from upstream, so that
// every span of such a trace, and the calls it makes, carry the upstream decision. It
// holds at most about 2×size traces: two generations, the older dropped when the newer
// fills. A trace forgotten this way (more than size newer traces continued since) falls
// back to the layer's own decision.
type priorities struct {
	mu       sync.Mutex
	size     int
	cur, old map[[16]byte]int
}

func newPriorities(size int) *priorities {
	return &priorities{size: size, cur: make(map[[16]byte]int)}
}

func (p *priorities) put(id [16]byte, prio int) {
	p.mu.Lock()
	if len(p.cur) >= p.size {
		p.old, p.cur = p.cur, make(map[[16]byte]int, p.size)
	}
	p.cur[id] = prio
	p.mu.Unlock()
}

func (p *priorities) get(id [16]byte) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.getLocked(id)
}

func (p *priorities) getLocked(id [16]byte) (int, bool) {
	if len(p.cur) == 0 && len(p.old) == 0 {
		return 0, false
	}
	if v, ok := p.cur[id]; ok {
		return v, true
	}
	v, ok := p.old[id]
	return v, ok
}

// upstreamPriority is the sampling priority a remote parent carries: its
// x-datadog-sampling-priority, or auto-reject for another propagator's "not sampled".
func upstreamPriority(rp *subscriber.RemoteParent) (int, bool) {
	if rp == nil {
		return 0, false
	}
	if r, ok := rp.Data.(*Remote); ok && rp.Propagator == PropagatorName {
		return r.Priority, r.HasPriority
	}
	if !rp.Sampled {
		return PriorityAutoReject, true
	}
	return 0, false
}
