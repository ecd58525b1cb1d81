package metrics

import (
	"hash/maphash"
	"sync/atomic"
)

// The series cache maps the raw identity of a label set (a span's metric name, span
// name and label values; an event's labels, metric kind and name; as bytes) to what it
// updates: a span's series pair, an event's series. The memo (memo.go) is a second
// table of the same kind. Reads are lock-free: each shard publishes an immutable
// open-addressing table through an atomic pointer, and a writer (only on the first
// sight of an identity, under Layer.mu) copies the shard's table with the new entry and
// publishes the copy. Steady-state lookups therefore take no lock, write no shared
// memory and allocate nothing.

const (
	cacheShardBits = 6
	cacheShards    = 1 << cacheShardBits
)

type seriesCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	tab atomic.Pointer[cacheTable]
	// Pad to a cache line so that shards written at the same time do not share one.
	_ [56]byte
}

// cacheTable is an immutable open-addressing table; at most half of its slots are used,
// so a probe always meets an empty slot.
type cacheTable struct {
	mask  uint64
	n     int
	slots []*entry
}

// entry is one cached identity. key holds the identity bytes (memo, in the memo table),
// compared on lookup, so a hash collision never mixes two series.
type entry struct {
	hash uint64
	key  string
	memo *memoKey
	h    *handles    // an event's series
	ss   *spanSeries // a span's series pair
}

func newSeriesCache() *seriesCache {
	return &seriesCache{seed: maphash.MakeSeed()}
}

func (c *seriesCache) hash(key []byte) uint64 { return maphash.Bytes(c.seed, key) }

// lookup returns the entry for key, or nil.
func (c *seriesCache) lookup(h uint64, key []byte) *entry {
	t := c.shards[h>>(64-cacheShardBits)].tab.Load()
	if t == nil {
		return nil
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == nil {
			return nil
		}
		if e.hash == h && e.key == string(key) {
			return e
		}
	}
}

// lookupMemo returns the memo entry for p, or nil (see memo.go).
func (c *seriesCache) lookupMemo(p *memoProbe) *entry {
	h := p.h
	t := c.shards[h>>(64-cacheShardBits)].tab.Load()
	if t == nil {
		return nil
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == nil {
			return nil
		}
		if e.hash == h && e.memo.matches(p) {
			return e
		}
	}
}

// insert publishes e. Callers serialise inserts (Layer.mu) and look the key up again
// under that lock first, so an identity is inserted at most once.
func (c *seriesCache) insert(e *entry) {
	sh := &c.shards[e.hash>>(64-cacheShardBits)]
	old := sh.tab.Load()
	n := 1
	if old != nil {
		n += old.n
	}
	size := uint64(8)
	for size < uint64(2*n) {
		size <<= 1
	}
	t := &cacheTable{mask: size - 1, n: n, slots: make([]*entry, size)}
	if old != nil {
		for _, o := range old.slots {
			if o != nil {
				t.put(o)
			}
		}
	}
	t.put(e)
	sh.tab.Store(t)
}

func (t *cacheTable) put(e *entry) {
	i := e.hash & t.mask
	for t.slots[i] != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i] = e
}

// len returns the number of cached identities.
func (c *seriesCache) len() int {
	n := 0
	for i := range c.shards {
		if t := c.shards[i].tab.Load(); t != nil {
			n += t.n
		}
	}
	return n
}
