package storage

import "github.com/strata-go/strata/subscriber"

// OwnFieldCount returns how many fields span's own data holds (not its ancestors'), so
// tests can prove that inheritance does not copy.
func OwnFieldCount(span subscriber.SpanRef) int {
	d := dataOf(span)
	if d == nil {
		return -1
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.own)
}

// AncestorDepth returns how many stored ancestors span links to.
func AncestorDepth(span subscriber.SpanRef) int {
	d := dataOf(span)
	if d == nil {
		return -1
	}
	return d.depth
}
