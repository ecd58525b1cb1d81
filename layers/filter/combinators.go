package filter

import "github.com/strata-go/strata/subscriber"

// andFilter enables what all of its filters enable.
type andFilter []subscriber.Filter

// And returns a filter that enables what every one of fs enables, asking them in order
// and stopping at the first that refuses (put cheap, selective filters first). And() enables
// everything; a nil filter counts as one that enables everything. Its hints are the
// least verbose of its filters' hints.
func And(fs ...subscriber.Filter) subscriber.Filter {
	out := make(andFilter, 0, len(fs))
	for _, f := range fs {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (a andFilter) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	for _, f := range a {
		if !f.Enabled(meta, scope) {
			return false
		}
	}
	return true
}

func (a andFilter) LevelHint() subscriber.Level {
	h := subscriber.LevelTrace
	for _, f := range a {
		h = max(h, subscriber.LevelHintOf(f))
	}
	return h
}

func (a andFilter) TargetLevelHint(target string) subscriber.Level {
	h := subscriber.LevelTrace
	for _, f := range a {
		h = max(h, subscriber.TargetHintOf(f, target))
	}
	return h
}

// orFilter enables what any of its filters enables.
type orFilter []subscriber.Filter

// Or returns a filter that enables what at least one of fs enables, asking them in
// order and stopping at the first that accepts. Or() enables nothing; a nil filter counts
// as one that enables everything. Its hints are the most verbose of its filters' hints.
func Or(fs ...subscriber.Filter) subscriber.Filter {
	out := make(orFilter, len(fs))
	for i, f := range fs {
		out[i] = orNil(f)
	}
	return out
}

func (o orFilter) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	for _, f := range o {
		if f.Enabled(meta, scope) {
			return true
		}
	}
	return false
}

func (o orFilter) LevelHint() subscriber.Level {
	h := subscriber.LevelOff
	for _, f := range o {
		h = min(h, subscriber.LevelHintOf(f))
	}
	return h
}

func (o orFilter) TargetLevelHint(target string) subscriber.Level {
	h := subscriber.LevelOff
	for _, f := range o {
		h = min(h, subscriber.TargetHintOf(f, target))
	}
	return h
}

// notFilter enables what its filter rejects.
type notFilter struct{ f subscriber.Filter }

// Not returns a filter that enables what f rejects. Nothing can be pruned from the
// complement of a filter, so its hints are LevelTrace: Not(Level(LevelInfo)) enables
// DEBUG and TRACE. Not(nil) enables nothing.
func Not(f subscriber.Filter) subscriber.Filter { return notFilter{orNil(f)} }

func (n notFilter) Enabled(meta *subscriber.Metadata, scope subscriber.Scope) bool {
	return !n.f.Enabled(meta, scope)
}

func (n notFilter) LevelHint() subscriber.Level { return subscriber.LevelTrace }

func (n notFilter) TargetLevelHint(string) subscriber.Level { return subscriber.LevelTrace }
