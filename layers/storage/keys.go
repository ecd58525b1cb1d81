package storage

import "log/slog"

// keySig is a one-bit signature of a key: keys with different signatures differ, so a
// set of a few keys rules most others out without a comparison.
func keySig(k string) uint64 {
	if k == "" {
		return 1
	}
	return 1 << ((uint(len(k))*7 + uint(k[0]) + uint(k[len(k)/2])*5 + uint(k[len(k)-1])*3) & 63)
}

func indexKey(s []slog.Attr, key string) int {
	for i := range s {
		if s[i].Key == key {
			return i
		}
	}
	return -1
}

// smallSet is how many keys a keySet keeps in a list, checked after a signature test,
// before it moves them to a map.
const smallSet = 16

// keySet is a set of keys with O(1) operations at any size: a list scanned after a
// signature check while it is small (no hashing, no map), a map once it is large. Its
// storage is kept across resets, up to a bound.
type keySet struct {
	mask   uint64
	list   []string
	m      map[string]struct{}
	useMap bool
}

func (s *keySet) has(k string) bool {
	if s.useMap {
		_, ok := s.m[k]
		return ok
	}
	if s.mask&keySig(k) == 0 {
		return false
	}
	for _, x := range s.list {
		if x == k {
			return true
		}
	}
	return false
}

func (s *keySet) add(k string) {
	if s.useMap {
		s.m[k] = struct{}{}
		return
	}
	if len(s.list) < smallSet {
		s.mask |= keySig(k)
		s.list = append(s.list, k)
		return
	}
	if s.m == nil {
		s.m = make(map[string]struct{}, 4*smallSet)
	}
	for _, x := range s.list {
		s.m[x] = struct{}{}
	}
	s.m[k] = struct{}{}
	s.useMap = true
}

func (s *keySet) reset() {
	s.mask = 0
	clear(s.list)
	s.list = s.list[:0]
	if s.useMap {
		if len(s.m) > 16*maxKeptCap {
			s.m = nil // a map never shrinks: do not keep a huge one
		} else {
			clear(s.m)
		}
		s.useMap = false
	}
}

// dedupOwn removes the later occurrences of a key from s, keeping its first position
// and giving it the last value (the subscriber keeps the fields given at start as they
// were given, so a key may repeat there). It works in place.
func dedupOwn(s []slog.Attr) []slog.Attr {
	if len(s) < 2 {
		return s
	}
	if len(s) > 4*smallSet {
		return dedupLarge(s)
	}
	var mask uint64
	dup := false
	for i := range s {
		g := keySig(s[i].Key)
		if mask&g != 0 && indexKey(s[:i], s[i].Key) >= 0 {
			dup = true
			break
		}
		mask |= g
	}
	if !dup {
		return s // the usual case: one signature per key, no comparison at all
	}
	n := 0
	for i := range s {
		if j := indexKey(s[:n], s[i].Key); j >= 0 {
			s[j].Value = s[i].Value
			continue
		}
		s[n] = s[i]
		n++
	}
	clear(s[n:])
	return s[:n]
}

func dedupLarge(s []slog.Attr) []slog.Attr {
	pos := make(map[string]int, len(s))
	n := 0
	for i := range s {
		if j, ok := pos[s[i].Key]; ok {
			s[j].Value = s[i].Value
			continue
		}
		pos[s[i].Key] = n
		s[n] = s[i]
		n++
	}
	clear(s[n:])
	return s[:n]
}
