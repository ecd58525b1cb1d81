// Package filter provides the filters a Strata layer can carry: a level, env-filter
// style target directives, predicates on targets, span names and fields, arbitrary
// functions, their combinations, and a filter that can be replaced at run time.
//
// Attach a filter to a layer with [subscriber.WithFilter]; the layer then sees only the
// spans and events the filter enables, and other layers are not affected:
//
//	f, err := filter.FromEnv() // STRATA_LOG, "info" when unset
//	if err != nil {
//		return err
//	}
//	d := subscriber.MustNew(subscriber.WithFilter(logfmt.New(os.Stderr), f))
//
// # Directives
//
// [Parse] reads the syntax of tracing-subscriber's EnvFilter: a comma-separated list of
// directives, each of the form
//
//	target[span{field=value,...}]=level
//
// where every part is optional, as long as something is given:
//
//	info                          the default level, for every target no other directive names
//	songs/db=debug                target songs/db and everything under it, at DEBUG and above
//	songs/vendor=off              nothing from songs/vendor
//	songs/db                      a target without a level means TRACE
//	[vendor.lastfm.task]=trace    everything inside a span named vendor.lastfm.task
//	songs[HTTP request{http.method=POST}]=debug
//	                              spans named "HTTP request" from target songs whose field
//	                              http.method is POST, and everything inside them, at DEBUG
//	[{user.id=42}]=trace          any span with field user.id=42, and everything inside it
//	[{user.id}]=trace             any span that has a field user.id, whatever its value
//
// Level names are trace, debug, info, warn (or warning), error and off (or none), in any
// case. A directive that is only a level name sets the default; so a target that happens
// to be called "info" must be written with a level, "info=debug".
//
// Targets match by prefix at '/' boundaries: songs matches songs and songs/db but not
// songsx. When several directives match a target, the longest target wins, so
// "songs=warn,songs/db=debug" lets DEBUG through from songs/db and only WARN from
// songs/http. A target that no directive matches gets the default level; with no default
// directive, it gets nothing (OFF), so "songs/db=debug" alone silences every other target.
// When the same target (or the same span directive) is given twice, the last one wins.
//
// Directives with [brackets] are dynamic: they look at the span context. A span directive
// enables, up to its level, the matching span itself and every span and event inside it
// (a child, a grandchild, ...), whatever their targets. A span matches when its target
// matches the directive's target (if one is given), its name equals the name in the
// brackets (if one is given) and it has every listed field; values compare as the text of
// slog.Value.String, so {attempt=3} matches slog.Int("attempt", 3). A field value that
// holds spaces, commas, brackets, braces, '=' or quotes is written as a Go string literal:
// [{query="a, b"}]. Fields are matched when a span starts and when events are logged, so
// a span that records http.method later matches from then on. A span that no composed
// layer enabled does not exist, so nothing is inside it: to enable events inside spans
// that this layer does not want itself, compose another layer that wants those spans.
//
// Static directives (no brackets) cost one scan over the few directive targets; dynamic
// ones also walk the span's ancestors. [Directives.Enabled] takes no lock of its own and
// does not allocate for string, integer and boolean field values. Tracers cache what
// [Directives.TargetLevelHint] says about their target, so for a target the directives
// turn off, a disabled span or event is rejected before Enabled is ever called.
//
// [Directives.String] prints the canonical form: the default level first, then target
// directives sorted by target, then span directives, each with an explicit level.
//
// # Environment
//
// [FromEnv] parses the STRATA_LOG environment variable ([EnvVar]) and falls back to
// "info"; [FromEnvOr] takes the fallback as an argument.
//
// # Predicates and functions
//
// [Level], [Target], [SpanName], [Field] and [InSpan] test one thing each; [And], [Or]
// and [Not] combine filters. [Func] wraps a function of the metadata alone, [Dynamic] one
// that also sees the span context (the parent span and the fields). Filters report the
// most verbose level they can enable ([subscriber.LevelHinter],
// [subscriber.TargetHinter]) whenever they can tell, so that what they reject costs
// nothing; a function can tell nothing, so spans and events reach it at every level.
//
// # Reloading
//
// A [Reloadable] holds a filter that can be replaced while the program runs, for
// instance from an admin endpoint: [Reloadable.SetDirectives] parses new directives and
// swaps them in, keeping the old ones when the new ones do not parse. Each check costs
// one atomic load; after a change, cached interest is rebuilt
// ([subscriber.RebuildInterest]) so that tracers see the new filter at once.
package filter
