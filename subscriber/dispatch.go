package subscriber

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/strata-go/strata/registry"
)

// MaxLayers is the most layers one Dispatch composes: each span keeps its per-layer
// filter verdicts in one 64-bit word.
const MaxLayers = 64

// Dispatch is a composed subscriber: a registry and a flat list of layers, built once
// (usually in main) and then read without locks. Install it as the default with
// [SetDefault], or use it directly through [Dispatch.Tracer].
type Dispatch struct {
	reg    *registry.Registry
	layers []layerEntry
	global Filter // from GlobalFilter: every layer sees only what it enables; nil when none
	// floors are the most verbose levels any layer may enable for a call without fields
	// ([0]) and with fields ([1], lower when a FieldWanter wants calls for their
	// fields); LevelOff after Shutdown. Every call's inlined check loads one of them.
	floors [2]atomic.Int64
	// spanFields and eventFields are the key prefixes the FieldWanters want.
	spanFields, eventFields prefixSet
	// spanLoc and eventLoc: the layers that print locations ([LocationWanter],
	// [SpanLocationWanter]); a call captures its caller's PC only when one of them
	// enabled it.
	spanLoc, eventLoc uint64
	// guarded: some layer has a hook that runs outside Start and End (Record, Enter,
	// Exit, FollowsFrom), so End waits for one in progress before closing.
	guarded  bool
	props    []Propagator
	hasEvent bool
	hasExit  bool
	closed   atomic.Bool
	events   sync.Pool
}

type layerEntry struct {
	layer   Layer
	filter  Filter  // per-layer filter from WithFilter, or nil
	enabler Enabler // the layer's own Enabled, or nil
	bit     uint64
	serving bool // Serving: enabled only along with another layer
	// passive: the layer has no span or event hook (only Propagator, Flusher,
	// Shutdowner): it wants no span or event, and lowers no level floor.
	passive bool
	// fields is true for a FieldWanter: enabled by the prefixes of its field keys.
	fields                 bool
	spanPrefix, evPrefixes []string

	newSpan NewSpanHook
	record  RecordHook
	follows FollowsFromHook
	event   EventHook
	enter   EnterHook
	exit    ExitHook
	close   CloseHook
}

func (l *layerEntry) enabled(m *Metadata, s Scope) bool {
	if l.filter != nil && !l.filter.Enabled(m, s) {
		return false
	}
	if l.fields {
		prefixes := l.spanPrefix
		if m.Kind == KindEvent {
			prefixes = l.evPrefixes
		}
		return hasPrefixKey(s.Fields, prefixes)
	}
	return l.enabler == nil || l.enabler.Enabled(m, s)
}

func (l *layerEntry) levelHint() Level {
	h := LevelTrace
	if l.filter != nil {
		h = LevelHintOf(l.filter)
	}
	if l.enabler != nil && !l.fields {
		h = max(h, LevelHintOf(l.enabler))
	}
	return h
}

func (l *layerEntry) targetHint(target string) Level {
	h := LevelTrace
	if l.filter != nil {
		h = TargetHintOf(l.filter, target)
	}
	if l.enabler != nil && !l.fields {
		h = max(h, TargetHintOf(l.enabler, target))
	}
	return h
}

// globalFilter is the value GlobalFilter returns: composed like a layer, it filters for
// every layer.
type globalFilter struct{ f Filter }

// GlobalFilter returns a value to compose with the layers, in any position, that filters
// for all of them: a span or event it rejects reaches no layer, and its level and target
// hints bound the whole dispatch, like tracing-subscriber's EnvFilter layered on the
// registry. Per-layer filters ([WithFilter]) still narrow each layer further. Composing
// several global filters requires all of them to pass.
//
//	directives, _ := filter.FromEnv()
//	d, _ := subscriber.New(subscriber.GlobalFilter(directives), storage.New(), logfmt.New(out), met)
func GlobalFilter(f Filter) Layer { return &globalFilter{f: f} }

// New composes layers into a Dispatch. Layers run in the order given for every hook
// (put storage first: the layers after it read what it stored). A [GlobalFilter] may be
// given among them. It fails when a value is nil, implements no hook or capability, has
// a method named like a hook but with another signature (OnClosed, OnClose(SpanRef,
// error)), or when there are more than [MaxLayers].
func New(layers ...Layer) (*Dispatch, error) {
	d := &Dispatch{reg: registry.New()}
	d.events.New = func() any { return new(Event) }
	var globals []Filter
	for i, l := range layers {
		if g, ok := l.(*globalFilter); ok {
			if g == nil || g.f == nil {
				return nil, fmt.Errorf("subscriber: value %d is a GlobalFilter with a nil filter", i)
			}
			globals = append(globals, g.f)
			continue
		}
		if len(d.layers) == MaxLayers {
			return nil, fmt.Errorf("subscriber: more than %d layers given; at most %d can be composed", MaxLayers, MaxLayers)
		}
		e := layerEntry{bit: 1 << uint(len(d.layers))}
		if f, ok := l.(*filtered); ok {
			e.filter = f.filter
			l = f.layer
		}
		if l == nil {
			return nil, fmt.Errorf("subscriber: layer %d is nil", i)
		}
		if err := checkHookNames(l); err != nil {
			return nil, fmt.Errorf("subscriber: layer %d (%T): %w", i, l, err)
		}
		e.layer = l
		e.newSpan, _ = l.(NewSpanHook)
		e.record, _ = l.(RecordHook)
		e.follows, _ = l.(FollowsFromHook)
		e.event, _ = l.(EventHook)
		e.enter, _ = l.(EnterHook)
		e.exit, _ = l.(ExitHook)
		e.close, _ = l.(CloseHook)
		e.enabler, _ = l.(Enabler)
		if s, ok := l.(Serving); ok && s.ServesOthers() {
			e.serving = true
		}
		if fw, ok := l.(FieldWanter); ok {
			e.fields = true
			e.spanPrefix, e.evPrefixes = fw.WantedFields()
			d.spanFields.add(e.spanPrefix)
			d.eventFields.add(e.evPrefixes)
		}
		p, isProp := l.(Propagator)
		_, isFlush := l.(Flusher)
		_, isShut := l.(Shutdowner)
		if e.newSpan == nil && e.record == nil && e.follows == nil && e.event == nil &&
			e.enter == nil && e.exit == nil && e.close == nil && !isProp && !isFlush && !isShut {
			return nil, fmt.Errorf("subscriber: layer %d (%T) implements no hook (OnNewSpan, OnEvent, OnClose, ...); "+
				"check that you passed the layer itself and that its methods have the documented signatures", i, l)
		}
		if isProp {
			d.props = append(d.props, p)
		}
		if w, ok := l.(LocationWanter); ok && w.WantsLocation() {
			d.eventLoc |= e.bit
		}
		if w, ok := l.(SpanLocationWanter); ok && w.WantsSpanLocation() {
			d.spanLoc |= e.bit
		}
		e.passive = e.newSpan == nil && e.record == nil && e.follows == nil && e.event == nil &&
			e.enter == nil && e.exit == nil && e.close == nil
		d.hasEvent = d.hasEvent || e.event != nil
		d.guarded = d.guarded || e.record != nil || e.enter != nil || e.exit != nil || e.follows != nil
		d.hasExit = d.hasExit || e.exit != nil
		d.layers = append(d.layers, e)
	}
	switch len(globals) {
	case 0:
	case 1:
		d.global = globals[0]
	default:
		d.global = allFilter(globals)
	}
	d.recomputeLevel()
	trackDispatch(d)
	return d, nil
}

// MustNew is like New but panics on error. Use it in main, where a composition error is
// a programming mistake.
func MustNew(layers ...Layer) *Dispatch {
	d, err := New(layers...)
	if err != nil {
		panic(err)
	}
	return d
}

func (d *Dispatch) recomputeLevel() {
	plain, field := d.levels(func(l *layerEntry) Level { return l.levelHint() }, LevelHintOf)
	if d.closed.Load() {
		plain, field = LevelOff, LevelOff
	}
	d.setFloors(plain, field)
}

// targetLevels returns the most verbose level any layer may enable for target, and the
// most verbose level a FieldWanter may enable for it.
func (d *Dispatch) targetLevels(target string) (plain, field Level) {
	return d.levels(func(l *layerEntry) Level { return l.targetHint(target) },
		func(f any) Level { return TargetHintOf(f, target) })
}

// levels folds the layers' hints: serving layers want no more than the others, field
// wanters count only for calls with fields, and the global filter bounds both.
func (d *Dispatch) levels(hint func(*layerEntry) Level, global func(any) Level) (plain, field Level) {
	plain, field = LevelOff, LevelOff
	for i := range d.layers {
		l := &d.layers[i]
		switch {
		case l.serving, l.passive:
		case l.fields:
			field = min(field, hint(l))
		default:
			plain = min(plain, hint(l))
		}
	}
	if d.global != nil {
		g := global(d.global)
		plain, field = max(plain, g), max(field, g)
	}
	// A field wanter is also reached by calls that pass the plain floor.
	return plain, field
}

// spanMask returns the layers that enable a span or an event: the global filter first,
// then each layer's filter, then the serving layers if any other layer said yes.
func (d *Dispatch) enabledMask(m *Metadata, s Scope) uint64 {
	if d.global != nil && !d.global.Enabled(m, s) {
		return 0
	}
	var mask, serving uint64
	for i := range d.layers {
		l := &d.layers[i]
		if l.serving {
			serving |= l.bit
			continue
		}
		if l.passive {
			continue
		}
		if m.Kind == KindEvent && l.event == nil {
			continue
		}
		if l.enabled(m, s) {
			mask |= l.bit
		}
	}
	if mask != 0 && serving != 0 {
		for i := range d.layers {
			l := &d.layers[i]
			if l.serving && (m.Kind != KindEvent || l.event != nil) && l.enabled(m, s) {
				mask |= l.bit
			}
		}
	}
	return mask
}

// allFilter requires every filter to pass.
type allFilter []Filter

func (f allFilter) Enabled(m *Metadata, s Scope) bool {
	for _, x := range f {
		if !x.Enabled(m, s) {
			return false
		}
	}
	return true
}

func (f allFilter) LevelHint() Level {
	h := LevelTrace
	for _, x := range f {
		h = max(h, LevelHintOf(x))
	}
	return h
}

func (f allFilter) TargetLevelHint(t string) Level {
	h := LevelTrace
	for _, x := range f {
		h = max(h, TargetHintOf(x, t))
	}
	return h
}

// prefixSet matches field keys against key prefixes; a table of first bytes rules most
// keys out with one load.
type prefixSet struct {
	first [256]bool
	list  []string
	any   bool
}

func (p *prefixSet) add(prefixes []string) {
	for _, x := range prefixes {
		if x == "" {
			continue
		}
		p.first[x[0]] = true
		p.list = append(p.list, x)
		p.any = true
	}
}

// matches reports whether some attr (or, inside an inline group, some member) has a key
// with one of the prefixes.
func (p *prefixSet) matches(attrs []slog.Attr) bool {
	for i := range attrs {
		k := attrs[i].Key
		if k == "" {
			if attrs[i].Value.Kind() == slog.KindGroup && p.matches(attrs[i].Value.Group()) {
				return true
			}
			continue
		}
		if p.first[k[0]] && hasPrefix(k, p.list) {
			return true
		}
	}
	return false
}

func hasPrefix(k string, prefixes []string) bool {
	for _, x := range prefixes {
		if len(k) >= len(x) && k[:len(x)] == x {
			return true
		}
	}
	return false
}

func hasPrefixKey(attrs []slog.Attr, prefixes []string) bool {
	for i := range attrs {
		if hasPrefix(attrs[i].Key, prefixes) {
			return true
		}
	}
	return false
}

// Registry returns the dispatch's span registry (for leak checks: Registry().Live()).
func (d *Dispatch) Registry() *registry.Registry { return d.reg }

// Flush asks every layer that buffers ([Flusher]) to deliver what it holds, within ctx.
func (d *Dispatch) Flush(ctx context.Context) error {
	var errs []error
	for i := range d.layers {
		if f, ok := d.layers[i].layer.(Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flush %T: %w", d.layers[i].layer, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops the dispatch: new spans and events are disabled, then every layer that
// owns resources ([Shutdowner]) flushes and stops, in order, within ctx. Layers that only
// buffer are flushed. Calling Shutdown again returns nil and does nothing.
//
// Shutdown returns by ctx's deadline even when a layer does not (a destination that
// blocks forever, for instance): the error then names each layer that had not finished
// and wraps ctx.Err(), next to what the layers themselves said was lost. A layer that
// is still working goes on in the background until its own call returns.
func (d *Dispatch) Shutdown(ctx context.Context) error {
	if d.closed.Swap(true) {
		return nil
	}
	dispatchesMu.Lock()
	d.setFloors(LevelOff, LevelOff)
	dispatchesMu.Unlock()
	var errs []error
	for i := range d.layers {
		l := d.layers[i].layer
		var stop func(context.Context) error
		switch s := l.(type) {
		case Shutdowner:
			stop = s.Shutdown
		case Flusher:
			stop = s.Flush
		default:
			continue
		}
		if err := callWithin(ctx, stop); err != nil {
			errs = append(errs, fmt.Errorf("shutdown %T: %w", l, err))
		}
	}
	return errors.Join(errs...)
}

// callWithin calls fn(ctx) and returns its error, or, when ctx ends first, an error
// wrapping ctx.Err() while fn goes on in the background. Without a deadline or
// cancellation it simply calls fn. A layer that honours ctx returns right at the
// deadline with its own account of what it lost; callWithin waits a moment
// (shutdownGrace) for that account before answering for it.
func callWithin(ctx context.Context, fn func(context.Context) error) error {
	if ctx.Done() == nil {
		return fn(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	grace := time.NewTimer(shutdownGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		return err
	case <-grace.C:
		return fmt.Errorf("did not finish by the deadline (it goes on in the background until its call returns): %w", ctx.Err())
	}
}

// shutdownGrace is how long past ctx's end Shutdown waits for a layer's own answer.
const shutdownGrace = 20 * time.Millisecond

// noop is the default before SetDefault: it enables nothing.
var noop = func() *Dispatch {
	d := &Dispatch{reg: registry.New()}
	d.events.New = func() any { return new(Event) }
	d.floors[0].Store(int64(LevelOff))
	d.floors[1].Store(int64(LevelOff))
	return d
}()

var (
	defaultDispatch atomic.Pointer[Dispatch]
	// defaultFloors mirror the default dispatch's floors, so that a tracer following the
	// default checks its level with one load instead of two.
	defaultFloors [2]atomic.Int64
)

func init() {
	defaultDispatch.Store(noop)
	defaultFloors[0].Store(int64(LevelOff))
	defaultFloors[1].Store(int64(LevelOff))
}

// SetDefault installs d as the process-wide default, used by the package-level functions
// and by tracers made with [NewTracer]. It returns a function that restores the previous
// default (handy in tests). SetDefault(nil) installs the no-op dispatch.
func SetDefault(d *Dispatch) (restore func()) {
	if d == nil {
		d = noop
	}
	dispatchesMu.Lock()
	defer dispatchesMu.Unlock()
	prev := defaultDispatch.Swap(d)
	mirrorFloors(d)
	return func() {
		dispatchesMu.Lock()
		defer dispatchesMu.Unlock()
		defaultDispatch.Store(prev)
		mirrorFloors(prev)
	}
}

// setFloors changes d's level floors, and the default's mirror of them. Callers hold
// dispatchesMu, or own d before it can be the default.
func (d *Dispatch) setFloors(plain, field Level) {
	d.floors[0].Store(int64(plain))
	d.floors[1].Store(int64(min(plain, field)))
	if defaultDispatch.Load() == d {
		mirrorFloors(d)
	}
}

func mirrorFloors(d *Dispatch) {
	defaultFloors[0].Store(d.floors[0].Load())
	defaultFloors[1].Store(d.floors[1].Load())
}

// Default returns the current default dispatch (a no-op one when none was set).
func Default() *Dispatch { return defaultDispatch.Load() }

// Shutdown shuts the default dispatch down; see [Dispatch.Shutdown].
func Shutdown(ctx context.Context) error { return Default().Shutdown(ctx) }

// interestEpoch changes whenever cached filter answers may be stale.
var interestEpoch atomic.Uint64

var (
	dispatchesMu sync.Mutex
	dispatches   []weak.Pointer[Dispatch]
)

func trackDispatch(d *Dispatch) {
	dispatchesMu.Lock()
	defer dispatchesMu.Unlock()
	live := dispatches[:0]
	for _, w := range dispatches {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	dispatches = append(live, weak.Make(d))
}

// RebuildInterest tells every dispatch and tracer that filter answers may have changed:
// level hints are recomputed and per-target caches dropped. Reloadable filters call it
// after a change; filters whose hints never change never need it.
func RebuildInterest() {
	dispatchesMu.Lock()
	defer dispatchesMu.Unlock()
	for _, w := range dispatches {
		if d := w.Value(); d != nil {
			d.recomputeLevel()
		}
	}
	interestEpoch.Add(1)
}
