package subscriber

import (
	"runtime"
	"sync"
)

// Kind says whether metadata describes a span or an event.
type Kind uint8

// The kinds of metadata.
const (
	KindSpan Kind = iota
	KindEvent
)

func (k Kind) String() string {
	if k == KindEvent {
		return "event"
	}
	return "span"
}

// Metadata describes a span or an event: what filters decide on before any layer does
// work. For an event, Name is the message.
type Metadata struct {
	Name   string
	Target string // the tracer's target, usually a package path such as "songs/db"
	Level  Level
	Kind   Kind
	// PC is the program counter of the call site, captured only when a composed layer
	// asks for locations (see [LocationWanter]); zero otherwise.
	PC uintptr
}

// Location is a resolved source location.
type Location struct {
	Function string
	File     string
	Line     int
}

var locations sync.Map // uintptr -> *Location

// Location resolves the call site from PC, once per PC (results are cached). It returns
// nil when no PC was captured.
func (m *Metadata) Location() *Location {
	return LocationOf(m.PC)
}

// LocationOf resolves a program counter to a source location, caching the result. It
// returns nil for a zero pc.
func LocationOf(pc uintptr) *Location {
	if pc == 0 {
		return nil
	}
	if l, ok := locations.Load(pc); ok {
		return l.(*Location)
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	l := &Location{Function: f.Function, File: f.File, Line: f.Line}
	actual, _ := locations.LoadOrStore(pc, l)
	return actual.(*Location)
}
