package logfmt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by [AsyncWriter.Write] after [AsyncWriter.Close].
var ErrClosed = errors.New("logfmt: async writer is closed")

// AsyncOption configures an [AsyncWriter].
type AsyncOption func(*AsyncWriter)

// WithQueueSize sets how many lines the queue holds (default 4096). Values below 1
// mean 1.
func WithQueueSize(lines int) AsyncOption {
	return func(a *AsyncWriter) { a.size = max(lines, 1) }
}

// WithBlocking makes Write wait for room in the queue instead of dropping the line:
// nothing is lost, and a slow destination slows the program down.
func WithBlocking() AsyncOption {
	return func(a *AsyncWriter) { a.blocking = true }
}

// AsyncWriter is an io.Writer that queues lines and writes them to another writer from
// one goroutine it owns, so that logging never waits for a slow destination (a pipe, a
// full disk, a terminal). The queue is bounded; when it is full, a line is dropped and
// counted ([AsyncWriter.Dropped]), unless the writer was made [WithBlocking].
//
// The goroutine runs until [AsyncWriter.Close], which delivers what is queued within a
// deadline and then stops it. The logfmt [Layer] closes its AsyncWriter in its
// Shutdown, so a program that shuts the dispatch down owns the goroutine through it:
//
//	w := logfmt.NewAsyncWriter(os.Stderr)
//	d := subscriber.MustNew(storage.New(), logfmt.New(w))
//	defer d.Shutdown(ctx) // flushes the queue and stops the goroutine
//
// Every line sent is, in the end, counted exactly once: written, failed (the
// destination returned an error), or dropped.
type AsyncWriter struct {
	w        io.Writer
	size     int
	blocking bool

	mu       sync.Mutex
	queue    []*[]byte
	spare    []*[]byte // the worker's last batch, reused as the next queue
	closed   bool
	enq      uint64        // lines accepted into the queue
	done     uint64        // accepted lines finished: written, failed or dropped
	progress chan struct{} // closed when done advances or the writer closes; nil when nobody waits
	lastErr  error
	reported uint64 // failed lines already reported by Flush or Close

	wake   chan struct{} // tells the idle worker there is work
	stop   atomic.Bool   // Close's deadline passed: drop instead of writing
	exited chan struct{} // closed when the worker returns

	written, failed, dropped atomic.Uint64
}

var asyncBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// NewAsyncWriter returns an AsyncWriter that writes to w, and starts its goroutine.
// Call Close to stop it.
func NewAsyncWriter(w io.Writer, opts ...AsyncOption) *AsyncWriter {
	a := &AsyncWriter{w: w, size: 4096, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(a)
		}
	}
	if a.w == nil {
		a.w = io.Discard
	}
	a.queue = make([]*[]byte, 0, min(a.size, 1024))
	go a.run()
	return a
}

func (a *AsyncWriter) concurrentSafe() {}

// Write queues a copy of p as one line. It never waits for the destination: when the
// queue is full it drops the line (counting it) and returns len(p), nil, or, when made
// WithBlocking, waits for room. After Close it drops the line and returns ErrClosed.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	bp := asyncBufPool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	a.mu.Lock()
	for {
		if a.closed {
			a.mu.Unlock()
			a.dropped.Add(1)
			putAsyncBuf(bp)
			return 0, ErrClosed
		}
		if len(a.queue) < a.size {
			break
		}
		if !a.blocking {
			a.mu.Unlock()
			a.dropped.Add(1)
			putAsyncBuf(bp)
			return len(p), nil
		}
		ch := a.waitLocked()
		a.mu.Unlock()
		<-ch
		a.mu.Lock()
	}
	a.queue = append(a.queue, bp)
	a.enq++
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default: // the worker has a wake-up pending already
	}
	return len(p), nil
}

func putAsyncBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		*bp = (*bp)[:0]
		asyncBufPool.Put(bp)
	}
}

// waitLocked returns a channel closed at the next progress. The caller holds mu.
func (a *AsyncWriter) waitLocked() chan struct{} {
	if a.progress == nil {
		a.progress = make(chan struct{})
	}
	return a.progress
}

// notifyLocked wakes everyone waiting for progress. The caller holds mu.
func (a *AsyncWriter) notifyLocked() {
	if a.progress != nil {
		close(a.progress)
		a.progress = nil
	}
}

func (a *AsyncWriter) run() {
	defer close(a.exited)
	for {
		a.mu.Lock()
		for len(a.queue) == 0 {
			if a.closed {
				a.mu.Unlock()
				return
			}
			a.mu.Unlock()
			<-a.wake
			a.mu.Lock()
		}
		batch := a.queue
		a.queue = a.spare[:0]
		a.notifyLocked() // room for blocked writers
		a.mu.Unlock()

		var lastErr error
		for i, bp := range batch {
			if a.stop.Load() {
				a.dropped.Add(uint64(len(batch) - i))
				for _, rest := range batch[i:] {
					putAsyncBuf(rest)
				}
				break
			}
			if _, err := a.w.Write(*bp); err != nil {
				a.failed.Add(1)
				lastErr = err
			} else {
				a.written.Add(1)
			}
			putAsyncBuf(bp)
		}
		clear(batch)

		a.mu.Lock()
		a.done += uint64(len(batch))
		if lastErr != nil {
			a.lastErr = lastErr
		}
		a.spare = batch[:0]
		a.notifyLocked()
		a.mu.Unlock()
	}
}

// Flush waits until every line queued before the call was handed to the destination,
// or until ctx is done. It reports the lines still queued at the deadline, and, when
// the destination refused lines since the last Flush or Close, how many and its last
// error.
func (a *AsyncWriter) Flush(ctx context.Context) error {
	a.mu.Lock()
	target := a.enq
	for a.done < target {
		ch := a.waitLocked()
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			a.mu.Lock()
			pending := target - a.done
			a.mu.Unlock()
			return fmt.Errorf("logfmt: flush: %d lines not yet delivered: %w", pending, ctx.Err())
		}
		a.mu.Lock()
	}
	a.mu.Unlock()
	return a.failures("flush")
}

// failures reports the lines that failed since the last report.
func (a *AsyncWriter) failures(op string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	failed := a.failed.Load()
	n := failed - a.reported
	a.reported = failed
	if n == 0 {
		return nil
	}
	return fmt.Errorf("logfmt: %s: %d lines failed to write: %w", op, n, a.lastErr)
}

// Close stops accepting lines, delivers what is queued, and stops the goroutine. When
// ctx is done first, the lines still queued are dropped (and counted), the goroutine
// stops after the line it is writing, and Close says how many lines were not
// delivered. Calling Close again waits for the goroutine to stop, within ctx.
func (a *AsyncWriter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		select {
		case <-a.exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("logfmt: close: the writer goroutine is still writing: %w", ctx.Err())
		}
	}
	a.closed = true
	a.notifyLocked() // blocked writers drop their lines
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	select {
	case <-a.exited:
		return a.failures("close")
	case <-ctx.Done():
	}
	a.stop.Store(true)
	a.mu.Lock()
	queued := uint64(len(a.queue))
	for _, bp := range a.queue {
		putAsyncBuf(bp)
	}
	clear(a.queue)
	a.queue = a.queue[:0]
	a.dropped.Add(queued)
	a.done += queued
	inFlight := a.enq - a.done
	a.mu.Unlock()
	return fmt.Errorf("logfmt: close: %d queued lines dropped and up to %d in flight not delivered: %w",
		queued, inFlight, ctx.Err())
}

// Dropped returns how many lines were dropped: the queue was full, the writer was
// closed, or Close's deadline passed before they were written.
func (a *AsyncWriter) Dropped() uint64 { return a.dropped.Load() }

// Written returns how many lines the destination accepted.
func (a *AsyncWriter) Written() uint64 { return a.written.Load() }

// Failed returns how many lines the destination returned an error for.
func (a *AsyncWriter) Failed() uint64 { return a.failed.Load() }

// Done returns a channel that is closed when the writer's goroutine has stopped.
func (a *AsyncWriter) Done() <-chan struct{} { return a.exited }
