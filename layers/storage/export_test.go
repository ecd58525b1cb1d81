package storage

import "github.com/strata-go/strata/subscriber"

// OwnFieldCount returns how many fields span's own level holds (not its ancestors'), so
// tests can prove that inheritance does not copy.
func OwnFieldCount(span subscriber.SpanRef) int {
	d := dataOf(span)
	if d == nil {
		return -1
	}
	return len(d.appendOwn(nil))
}

// AncestorDepth returns how many stored ancestors span links to.
func AncestorDepth(span subscriber.SpanRef) int {
	d := dataOf(span)
	if d == nil {
		return -1
	}
	return int(d.depth)
}

// KeptFieldCount returns how many fields storage keeps for span itself, beside the
// subscriber's span state: the error fields of events.
func KeptFieldCount(span subscriber.SpanRef) int {
	d := dataOf(span)
	if d == nil {
		return -1
	}
	return int(d.nextra.Load())
}
