package filter

import "github.com/strata-go/strata/subscriber"

// levelFilter enables levels at or above min.
type levelFilter struct{ min subscriber.Level }

// Level returns a filter that enables spans and events at level l or above (LevelOff
// enables nothing). Its hints are exact, so what it rejects is rejected by the tracer
// before any work.
func Level(l subscriber.Level) subscriber.Filter { return levelFilter{l} }

func (f levelFilter) Enabled(meta *subscriber.Metadata, _ subscriber.Scope) bool {
	return meta.Level >= f.min
}

func (f levelFilter) LevelHint() subscriber.Level { return f.min }

func (f levelFilter) TargetLevelHint(string) subscriber.Level { return f.min }

func (f levelFilter) String() string { return levelName(f.min) }
