package logfmt

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/strata-go/strata/subscriber"
)

// LevelWriter is a writer that is told the level of each line. The layer calls
// WriteLevel instead of Write when its writer implements it; [LevelRouter] does.
type LevelWriter interface {
	io.Writer
	WriteLevel(level subscriber.Level, p []byte) (n int, err error)
}

// LevelRouter writes every line to a primary writer, and the lines at or above a level
// also to a second writer: errors to stderr as well as to the log file, for instance.
//
//	w := logfmt.NewLevelRouter(file, subscriber.LevelError, os.Stderr)
//	layer := logfmt.New(w)
//
// Routers nest: the primary of one router may be another router, each with its own
// level and second writer. A LevelRouter serialises the Writes to each of its writers,
// so plain writers need no locking of their own.
type LevelRouter struct {
	primary dest
	also    dest
	min     subscriber.Level
}

type dest struct {
	w    io.Writer
	lw   LevelWriter
	safe bool
	mu   *sync.Mutex
}

func newDest(w io.Writer) dest {
	d := dest{w: w, mu: new(sync.Mutex)}
	d.lw, _ = w.(LevelWriter)
	_, d.safe = w.(concurrentWriter)
	return d
}

func (d *dest) write(level subscriber.Level, p []byte) (int, error) {
	if d.w == nil {
		return len(p), nil
	}
	if d.lw != nil {
		return d.lw.WriteLevel(level, p)
	}
	if d.safe {
		return d.w.Write(p)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w.Write(p)
}

// NewLevelRouter returns a router that writes every line to w, and the lines at level
// min or above also to also. A nil w or also writes nowhere.
func NewLevelRouter(w io.Writer, min subscriber.Level, also io.Writer) *LevelRouter {
	return &LevelRouter{primary: newDest(w), also: newDest(also), min: min}
}

func (r *LevelRouter) concurrentSafe() {}

// Write writes p to the primary writer only: a line without a level is not routed.
func (r *LevelRouter) Write(p []byte) (int, error) {
	return r.primary.write(subscriber.LevelInfo, p)
}

// WriteLevel writes p to the primary writer, and to the second writer when level is at
// or above the router's level. It returns the primary writer's count, and the errors
// of both writers.
func (r *LevelRouter) WriteLevel(level subscriber.Level, p []byte) (int, error) {
	n, err := r.primary.write(level, p)
	if level >= r.min {
		if _, err2 := r.also.write(level, p); err2 != nil {
			err = errors.Join(err, err2)
		}
	}
	return n, err
}

// Flush flushes both writers, those that have a Flush(context.Context) error method.
func (r *LevelRouter) Flush(ctx context.Context) error {
	return errors.Join(flushWriter(ctx, r.primary.w), flushWriter(ctx, r.also.w))
}

// Close closes both writers, those that have a Close(context.Context) error method
// (such as [AsyncWriter]); files and other writers are left open.
func (r *LevelRouter) Close(ctx context.Context) error {
	return errors.Join(closeWriter(ctx, r.primary.w), closeWriter(ctx, r.also.w))
}

func flushWriter(ctx context.Context, w io.Writer) error {
	if f, ok := w.(interface{ Flush(context.Context) error }); ok {
		return f.Flush(ctx)
	}
	return nil
}

func closeWriter(ctx context.Context, w io.Writer) error {
	if c, ok := w.(interface{ Close(context.Context) error }); ok {
		return c.Close(ctx)
	}
	return flushWriter(ctx, w)
}
