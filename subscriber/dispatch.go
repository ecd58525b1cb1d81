package subscriber

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	reg      *registry.Registry
	layers   []layerEntry
	minLevel atomic.Int64 // most verbose level any layer may enable; LevelOff after Shutdown
	// wantEventPC and wantSpanPC: some layer prints locations ([LocationWanter],
	// [SpanLocationWanter]), so calls capture their caller's PC.
	wantEventPC bool
	wantSpanPC  bool
	props       []Propagator
	hasEvent    bool
	hasRecord   bool
	hasExit     bool
	closed      atomic.Bool
	events      sync.Pool
}

type layerEntry struct {
	layer   Layer
	filter  Filter  // per-layer filter from WithFilter, or nil
	enabler Enabler // the layer's own Enabled, or nil
	bit     uint64

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
	return l.enabler == nil || l.enabler.Enabled(m, s)
}

func (l *layerEntry) levelHint() Level {
	h := LevelTrace
	if l.filter != nil {
		h = LevelHintOf(l.filter)
	}
	if l.enabler != nil {
		h = max(h, LevelHintOf(l.enabler))
	}
	return h
}

func (l *layerEntry) targetHint(target string) Level {
	h := LevelTrace
	if l.filter != nil {
		h = TargetHintOf(l.filter, target)
	}
	if l.enabler != nil {
		h = max(h, TargetHintOf(l.enabler, target))
	}
	return h
}

// New composes layers into a Dispatch. Layers run in the order given for every hook
// (put storage first: the layers after it read what it stored). It fails when a value
// is nil, implements no hook or capability, or when there are more than [MaxLayers].
func New(layers ...Layer) (*Dispatch, error) {
	if len(layers) > MaxLayers {
		return nil, fmt.Errorf("subscriber: %d layers given; at most %d can be composed", len(layers), MaxLayers)
	}
	d := &Dispatch{reg: registry.New()}
	d.events.New = func() any { return new(Event) }
	for i, l := range layers {
		e := layerEntry{bit: 1 << uint(i)}
		if f, ok := l.(*filtered); ok {
			e.filter = f.filter
			l = f.layer
		}
		if l == nil {
			return nil, fmt.Errorf("subscriber: layer %d is nil", i)
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
			d.wantEventPC = true
		}
		if w, ok := l.(SpanLocationWanter); ok && w.WantsSpanLocation() {
			d.wantSpanPC = true
		}
		d.hasEvent = d.hasEvent || e.event != nil
		d.hasRecord = d.hasRecord || e.record != nil
		d.hasExit = d.hasExit || e.exit != nil
		d.layers = append(d.layers, e)
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
	lvl := LevelOff
	for i := range d.layers {
		lvl = min(lvl, d.layers[i].levelHint())
	}
	if d.closed.Load() {
		lvl = LevelOff
	}
	d.setMinLevel(lvl)
}

// targetLevel is the most verbose level any layer may enable for target.
func (d *Dispatch) targetLevel(target string) Level {
	lvl := LevelOff
	for i := range d.layers {
		lvl = min(lvl, d.layers[i].targetHint(target))
	}
	return lvl
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
func (d *Dispatch) Shutdown(ctx context.Context) error {
	if d.closed.Swap(true) {
		return nil
	}
	dispatchesMu.Lock()
	d.setMinLevel(LevelOff)
	dispatchesMu.Unlock()
	var errs []error
	for i := range d.layers {
		l := d.layers[i].layer
		var err error
		switch s := l.(type) {
		case Shutdowner:
			err = s.Shutdown(ctx)
		case Flusher:
			err = s.Flush(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("shutdown %T: %w", l, err))
		}
	}
	return errors.Join(errs...)
}

// noop is the default before SetDefault: it enables nothing.
var noop = func() *Dispatch {
	d := &Dispatch{reg: registry.New()}
	d.events.New = func() any { return new(Event) }
	d.minLevel.Store(int64(LevelOff))
	return d
}()

var (
	defaultDispatch atomic.Pointer[Dispatch]
	// defaultFloor mirrors the default dispatch's minLevel, so that a tracer following
	// the default checks its level with one load instead of two.
	defaultFloor atomic.Int64
)

func init() {
	defaultDispatch.Store(noop)
	defaultFloor.Store(int64(LevelOff))
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
	defaultFloor.Store(d.minLevel.Load())
	return func() {
		dispatchesMu.Lock()
		defer dispatchesMu.Unlock()
		defaultDispatch.Store(prev)
		defaultFloor.Store(prev.minLevel.Load())
	}
}

// setMinLevel changes d's level floor, and the default's mirror of it. Callers hold
// dispatchesMu, or own d before it can be the default.
func (d *Dispatch) setMinLevel(l Level) {
	d.minLevel.Store(int64(l))
	if defaultDispatch.Load() == d {
		defaultFloor.Store(int64(l))
	}
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
