package skywalking

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/registry"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// recentSize is how many span ids the layer remembers the segment of after they ended.
// A span started from the ctx of a span whose record is gone finds its parent's segment
// here. A power of two.
const recentSize = 8192

// recentSpans maps the ids of recently ended spans to their segments: a direct-mapped
// table, one atomic pointer per slot, where a newer span that hashes to the same slot
// replaces an older one. Writing costs one atomic store per span and no lock; a
// lookup checks that the segment really has the id. With random span ids, a span is
// still found after k later spans ended with probability (1-1/recentSize)^k: 88% after
// a thousand, 30% after ten thousand.
type recentSpans struct {
	slots []atomic.Pointer[segment]
	mask  uint64
}

func (r *recentSpans) init(n int) {
	r.slots = make([]atomic.Pointer[segment], n)
	r.mask = uint64(n - 1)
}

func (r *recentSpans) put(id registry.SpanID, s *segment) {
	r.slots[uint64(id)&r.mask].Store(s)
}

func (r *recentSpans) get(id registry.SpanID) *segment {
	return r.slots[uint64(id)&r.mask].Load()
}

// sweeper flushes lingering segments until Shutdown. It wakes a few times per linger
// (at most once a second, at least every 10ms).
func (l *Layer) sweeper(linger time.Duration) {
	defer close(l.swept)
	every := min(max(linger/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.sweep(registry.Nanotime(), false)
		}
	}
}

// sweep reports the lingering segments whose first span ended a linger or more before
// now (all of them with all set), moving their open spans to new segments.
func (l *Layer) sweep(now int64, all bool) {
	l.lingerMu.Lock()
	var due []*segment
	for s := range l.lingering {
		due = append(due, s)
	}
	l.lingerMu.Unlock()
	for _, s := range due {
		s.mu.Lock()
		if s.done || !s.lingering || (!all && now-s.rootEnd < l.linger) {
			s.mu.Unlock()
			continue
		}
		so := l.flushLate(s)
		s.mu.Unlock()
		l.report(so)
	}
}

// flushLate reports the locked s without waiting for its open spans: each open span
// whose parent stays in s moves, with the spans under it, to a new segment whose first
// span refers to the parent with a CrossThread reference. Those segments are reported
// when their own spans end.
func (l *Layer) flushLate(s *segment) *agentv3.SegmentObject {
	n := len(s.entries)
	dest := make([]*segment, n) // where entries[i] goes; nil: it stays
	newIdx := make([]int32, n)
	var created []*segment
	for i := range s.entries {
		e := &s.entries[i]
		var ns *segment
		switch {
		case e.parent >= 0 && dest[e.parent] != nil:
			ns = dest[e.parent] // under a span that moves: moves with it
		case !e.closed && e.parent >= 0:
			// A late span whose parent stays: the first span of a new segment.
			ns = &segment{trace: s.trace, rnd: [2]uint64{rand.Uint64(), rand.Uint64()}, entryIdx: -1, corr: s.corr, data: newSegData()}
			ns.entries = ns.inline[:0]
			// Held until ns is complete: the spans moving into it can be reached (and
			// their segment locked) as soon as their data points to it.
			ns.mu.Lock()
			e.obj.Refs = append(e.obj.Refs, s.crossThreadRef(l, e.parent))
			created = append(created, ns)
			l.late.Add(1)
		default:
			continue
		}
		dest[i] = ns
		idx := int32(len(ns.entries))
		newIdx[i] = idx
		parent := int32(-1)
		if e.parent >= 0 && dest[e.parent] == ns {
			parent = newIdx[e.parent]
		}
		e.obj.SpanId, e.obj.ParentSpanId = idx, parent
		ns.entries = append(ns.entries, entry{obj: e.obj, sd: e.sd, id: e.id, parent: parent, closed: e.closed})
		if e.obj.SpanType == agentv3.SpanType_Entry && ns.entryIdx < 0 {
			ns.entryIdx = idx
		}
		if !e.closed {
			ns.open++
			s.open--
			// Readers lock the segment the span is in, then check it is still the one;
			// idx is written before the segment, so one that sees the new segment sees
			// the new index, and waits for ns.mu, which is held until ns is complete.
			e.sd.idx = idx
			e.sd.seg.Store(ns)
		}
		// Children of an ended span that moved find it through s.moved.
		s.moved = append(s.moved, forward{from: int32(i), to: ns, idx: idx})
	}
	l.openSegs.Add(int64(len(created)))
	if len(s.moved) > 0 {
		s.data.shared = true // the moved spans' objects stay in use
	}
	so := l.finish(s)
	for _, ns := range created {
		ns.mu.Unlock()
	}
	return so
}
