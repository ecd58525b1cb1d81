package pipeline

import (
	"fmt"
	"log"
	"sync"
	"time"
)

// LogLimiter writes at most one line per kind of message per interval, and says in the
// next line it writes how many it held back. Exporters use it so that a peer that is
// down costs a line every half minute, not a line per item. It is safe for concurrent
// use.
type LogLimiter struct {
	logf  func(format string, args ...any)
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*logKind
}

type logKind struct {
	last       time.Time
	suppressed int
}

// NewLogLimiter returns a LogLimiter writing to logf (nil: log.Printf) at most once per
// kind every interval (0 or less: [LogEvery]).
func NewLogLimiter(logf func(format string, args ...any), every time.Duration) *LogLimiter {
	if logf == nil {
		logf = log.Printf
	}
	if every <= 0 {
		every = LogEvery
	}
	return &LogLimiter{logf: logf, every: every, kinds: make(map[string]*logKind)}
}

// Logf writes the message unless a message of the same kind was written less than the
// interval ago, and reports whether it wrote it.
func (l *LogLimiter) Logf(kind, format string, args ...any) bool {
	now := time.Now()
	l.mu.Lock()
	k := l.kinds[kind]
	if k == nil {
		k = &logKind{}
		l.kinds[kind] = k
	} else if now.Sub(k.last) < l.every {
		k.suppressed++
		l.mu.Unlock()
		return false
	}
	held := k.suppressed
	k.last, k.suppressed = now, 0
	l.mu.Unlock()

	msg := fmt.Sprintf(format, args...)
	if held > 0 {
		msg = fmt.Sprintf("%s (%d more like it held back since the last one)", msg, held)
	}
	l.logf("%s", msg)
	return true
}
