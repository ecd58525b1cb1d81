package logfmt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by [AsyncWriter.Write] after [AsyncWriter.Close].
var ErrClosed = errors.New("logfmt: async writer is closed")

// The AsyncWriter's default bounds.
const (
	// DefaultQueueLines is how many lines an AsyncWriter holds by default, as Rust's
	// tracing-appender does.
	DefaultQueueLines = 128_000
	// DefaultQueueBytes is how many bytes of lines an AsyncWriter holds by default.
	DefaultQueueBytes = 16 << 20
)

const (
	asyncChunk    = 64 << 10         // lines are copied into buffers of this size, one Write each
	asyncKeepFree = 16               // buffers kept for reuse when the queue drains (1 MiB)
	asyncKeepEnds = 4096             // line-end indexes longer than this are not kept
	asyncLinger   = time.Millisecond // how long the worker waits for lines to gather
)

// What the worker waits for (AsyncWriter.waiting).
const (
	asyncWaitIdle = 1 + iota // the queue is empty: the first line wakes it
	asyncWaitMore            // lingering: lines are queued, more are awaited
)

// AsyncOption configures an [AsyncWriter].
type AsyncOption func(*AsyncWriter)

// WithQueueSize sets how many lines the queue holds (default [DefaultQueueLines]).
// Values below 1 mean 1. Lines count until the destination's Write returns.
func WithQueueSize(lines int) AsyncOption {
	return func(a *AsyncWriter) { a.maxLines = max(lines, 1) }
}

// WithQueueBytes sets how many bytes of lines the queue holds (default
// [DefaultQueueBytes]), which bounds its memory. Values below 1 mean 1. A line longer
// than the bound is taken only when the queue is empty.
func WithQueueBytes(n int) AsyncOption {
	return func(a *AsyncWriter) { a.maxBytes = max(n, 1) }
}

// WithBlocking makes Write wait for room in the queue instead of dropping the line:
// nothing is lost, and a slow destination slows the program down.
func WithBlocking() AsyncOption {
	return func(a *AsyncWriter) { a.blocking = true }
}

// WithWritePerLine makes the writer call the destination's Write once per line, as the
// logfmt [Layer] calls its writer, instead of once for many lines. Use it for
// destinations that take each Write as one message: a syslog or UDP connection, a
// writer that prefixes or frames what it is given. It costs a Write call per line.
func WithWritePerLine() AsyncOption {
	return func(a *AsyncWriter) { a.perLine = true }
}

// AsyncWriter is an io.Writer that queues lines and writes them to another writer from
// one goroutine it owns, so that logging never waits for a slow destination (a pipe, a
// full disk, a terminal). Each Write is one line (the logfmt [Layer] writes one line
// per call).
//
// The queue is bounded, by default to [DefaultQueueLines] (128,000) lines and
// [DefaultQueueBytes] (16 MiB), whichever is reached first: 128,000 lines of up to
// 131 bytes, or about 67,000 lines of 250 bytes ([WithQueueSize], [WithQueueBytes]).
// Lines count until the destination's Write returns. When the queue is full, a line is
// dropped and counted ([AsyncWriter.Dropped]), unless the writer was made
// [WithBlocking].
//
// Memory: lines are copied into 64 KiB buffers, so the queue takes at most its byte
// bound plus 128 KiB, plus about 4 bytes per queued line for line boundaries (512 KiB
// at 128,000 lines). When the queue drains, the writer keeps 1 MiB of buffers for
// reuse and leaves the rest to the garbage collector.
//
// Cost: Write copies the line under a short lock and allocates nothing in steady
// state. The goroutine writes many lines in one Write call to the destination (up to
// 64 KiB, always whole lines, in order), unless the writer was made
// [WithWritePerLine]. It is not woken for each line: under load it wakes once a
// millisecond and takes everything queued, and a Write wakes it only when it is idle
// or the queue is filling up. So a line reaches a destination that keeps up within a
// millisecond or two; [AsyncWriter.Flush] delivers at once.
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
	maxLines int
	maxBytes int
	blocking bool
	perLine  bool
	chunk    int // buffer size: asyncChunk, or less under a small byte bound
	wakeAt   int // queued bytes that end the worker's lingering
	wakeN    int // queued lines that end the worker's lingering

	mu    sync.Mutex
	lines int // lines accepted and not finished (queued or being written): the bound
	bytes int // bytes those lines hold, with the unused tails of the buffers they sealed

	queue   []*lineChunk // accepted lines not yet taken by the worker, oldest first
	open    *lineChunk   // the queue's last buffer, while Write may still append to it
	qLines  int          // lines in queue
	qBytes  int          // bytes charged for queue
	starved bool         // a Write found the queue full since the worker last took it

	batch    []*lineChunk // taken by the worker; batch[next] from line nextLine is unclaimed
	next     int
	nextLine int
	writing  int // lines in the destination's Write now
	free     []*lineChunk

	waiting  int // asyncWaitIdle or asyncWaitMore while the worker waits for wake
	flushers int // Flush calls waiting: the worker does not linger
	closed   bool
	stopped  bool // Close's deadline passed: nothing more is handed to the destination

	enq      uint64        // lines accepted into the queue
	done     uint64        // accepted lines finished: written, failed or dropped
	progress chan struct{} // closed when done advances or the writer closes; nil when nobody waits
	lastErr  error
	reported uint64 // failed lines already reported by Flush or Close

	wake   chan struct{} // tells the waiting worker there is work
	exited chan struct{} // closed when the worker returns

	written, failed, dropped atomic.Uint64
}

// lineChunk is a buffer of whole lines and where each ends.
type lineChunk struct {
	buf   []byte
	ends  []int32
	waste int // unused tail charged to the bound when the chunk was sealed
}

// span returns the bytes of lines [from, to).
func (c *lineChunk) span(from, to int) (start, end int) {
	if from > 0 {
		start = int(c.ends[from-1])
	}
	if to > 0 {
		end = int(c.ends[to-1])
	}
	return start, end
}

// NewAsyncWriter returns an AsyncWriter that writes to w, and starts its goroutine.
// Call Close to stop it.
func NewAsyncWriter(w io.Writer, opts ...AsyncOption) *AsyncWriter {
	a := &AsyncWriter{w: w, maxLines: DefaultQueueLines, maxBytes: DefaultQueueBytes,
		wake: make(chan struct{}, 1), exited: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(a)
		}
	}
	if a.w == nil {
		a.w = io.Discard
	}
	a.chunk = min(asyncChunk, a.maxBytes)
	a.wakeAt = max(min(asyncKeepFree*a.chunk, a.maxBytes/2), 1)
	a.wakeN = max(a.maxLines/2, 1)
	go a.run()
	return a
}

func (a *AsyncWriter) concurrentSafe() {}

// Write queues a copy of p as one line. It never waits for the destination: when the
// queue is full it drops the line (counting it) and returns len(p), nil, or, when made
// WithBlocking, waits for room. After Close it drops the line and returns ErrClosed.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	n := len(p)
	a.mu.Lock()
	var need int // bytes charged: the line, and the unused tail of a buffer it seals
	var fits bool
	for {
		if a.closed {
			a.mu.Unlock()
			a.dropped.Add(1)
			return 0, ErrClosed
		}
		need = n
		fits = a.open != nil && cap(a.open.buf)-len(a.open.buf) >= n
		if a.open != nil && !fits {
			need += cap(a.open.buf) - len(a.open.buf)
		}
		if a.lines < a.maxLines && (a.lines == 0 || a.bytes+need <= a.maxBytes) {
			break
		}
		a.starved = true
		wake := a.waiting != 0 // no lingering with a full queue
		a.waiting = 0
		if !a.blocking {
			a.mu.Unlock()
			a.signal(wake)
			if wake {
				runtime.Gosched() // as below: let the worker run
			}
			a.dropped.Add(1)
			return n, nil
		}
		ch := a.waitLocked()
		a.mu.Unlock()
		a.signal(wake)
		<-ch
		a.mu.Lock()
	}
	c := a.open
	if !fits {
		if c != nil {
			c.waste = need - n
		}
		c = a.newChunkLocked(n)
		a.queue = append(a.queue, c)
		a.open = c
		if n > a.chunk {
			a.open = nil // a line of its own
		}
	}
	c.buf = append(c.buf, p...)
	c.ends = append(c.ends, int32(len(c.buf)))
	a.lines++
	a.bytes += need
	a.qLines++
	a.qBytes += need
	a.enq++
	wake := a.waiting == asyncWaitIdle
	yield := a.waiting == asyncWaitMore && a.urgentLocked()
	if wake || yield {
		a.waiting = 0
	}
	a.mu.Unlock()
	a.signal(wake || yield)
	if yield {
		// The worker is woken onto this goroutine's processor; when every processor is
		// busy writing lines it would wait there for a scheduling slice (10ms), by
		// which time the queue overflows. Yield once per urgent wake-up.
		runtime.Gosched()
	}
	return n, nil
}

// urgentLocked reports whether the worker should write the queue now rather than wait
// for more lines: Close or Flush wait, a Write found the queue full, or the queue holds
// more than the buffers kept for reuse or half its bound. The caller holds mu.
func (a *AsyncWriter) urgentLocked() bool {
	return a.closed || a.starved || a.flushers > 0 || a.qBytes >= a.wakeAt || a.qLines >= a.wakeN
}

// newChunkLocked returns an empty buffer for a line of n bytes. The caller holds mu.
func (a *AsyncWriter) newChunkLocked(n int) *lineChunk {
	if n > a.chunk {
		return &lineChunk{buf: make([]byte, 0, n)} // one long line, not reused
	}
	if k := len(a.free); k > 0 {
		c := a.free[k-1]
		a.free[k-1] = nil
		a.free = a.free[:k-1]
		return c
	}
	if a.chunk == asyncChunk {
		if c, ok := chunkPool.Get().(*lineChunk); ok {
			return c
		}
	}
	return &lineChunk{buf: make([]byte, 0, a.chunk), ends: make([]int32, 0, 256)}
}

// recycleLocked keeps c for reuse, or leaves it to the garbage collector. The caller
// holds mu.
func (a *AsyncWriter) recycleLocked(c *lineChunk) {
	if cap(c.buf) != a.chunk {
		return // a long line's own buffer
	}
	c.buf, c.waste = c.buf[:0], 0
	if cap(c.ends) > asyncKeepEnds {
		c.ends = nil
	} else {
		c.ends = c.ends[:0]
	}
	if len(a.free) < asyncKeepFree {
		a.free = append(a.free, c)
	} else if a.chunk == asyncChunk {
		chunkPool.Put(c) // reused after a burst, until the garbage collector takes it
	}
}

// chunkPool holds the buffers of a burst beyond what each AsyncWriter keeps.
var chunkPool sync.Pool

// signal wakes the worker when wake is set; the caller set a.waiting to 0 under mu.
func (a *AsyncWriter) signal(wake bool) {
	if wake {
		select {
		case a.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
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
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// Under load the worker wakes on its own timer, once a millisecond, and takes
	// everything queued: a Write that woke it would queue it behind the writing
	// goroutine on that goroutine's processor, where it can wait for a whole
	// scheduling slice, and a wake-up per few lines costs more than the lines. Writes
	// wake it only when it is idle or when the queue needs it now (half full, Flush,
	// Close).
	lingered := false
	a.mu.Lock()
	for {
		if a.qLines == 0 && a.closed {
			a.mu.Unlock()
			return
		}
		if a.qLines == 0 && lingered {
			// A whole period without a line: sleep until the next one.
			a.waiting = asyncWaitIdle
			a.mu.Unlock()
			<-a.wake
			a.mu.Lock()
			a.waiting = 0
			lingered = false
			continue
		}
		if !lingered && !a.urgentLocked() {
			a.waiting = asyncWaitMore
			a.mu.Unlock()
			timer.Reset(asyncLinger)
			select {
			case <-a.wake:
			case <-timer.C:
			}
			timer.Stop()
			a.mu.Lock()
			a.waiting = 0
			lingered = true
			continue
		}
		if a.qLines == 0 {
			lingered = true
			continue
		}
		lingered = false

		a.batch, a.queue = a.queue, a.batch[:0]
		a.open, a.qLines, a.qBytes, a.starved = nil, 0, 0, false
		a.next, a.nextLine = 0, 0
		for a.next < len(a.batch) && !a.stopped {
			c := a.batch[a.next]
			from, to := a.nextLine, len(c.ends)
			if a.perLine {
				to = from + 1
			}
			if to == len(c.ends) {
				a.next, a.nextLine = a.next+1, 0
			} else {
				a.nextLine = to
			}
			a.writing = to - from
			a.mu.Unlock()

			start, end := c.span(from, to)
			ok, err := a.deliver(c, from, to, start, end)

			a.mu.Lock()
			a.writing = 0
			a.written.Add(uint64(ok))
			if failed := to - from - ok; failed > 0 {
				a.failed.Add(uint64(failed))
				a.lastErr = err
			}
			a.done += uint64(to - from)
			a.lines -= to - from
			a.bytes -= end - start
			if to == len(c.ends) {
				a.bytes -= c.waste
				a.recycleLocked(c)
			} else if a.stopped {
				a.recycleLocked(c) // Close dropped the rest of c
			}
			a.notifyLocked()
		}
		clear(a.batch)
		a.batch, a.next, a.nextLine = a.batch[:0], 0, 0
	}
}

// deliver writes lines [from, to) of c, bytes [start, end), and returns how many of
// them the destination took whole, and its error.
func (a *AsyncWriter) deliver(c *lineChunk, from, to, start, end int) (int, error) {
	if start == end {
		if a.perLine {
			_, err := a.w.Write(c.buf[start:end])
			if err != nil {
				return 0, err
			}
		}
		return to - from, nil
	}
	n, err := a.w.Write(c.buf[start:end])
	if err == nil && n == end-start {
		return to - from, nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	// The lines that fit in the n bytes written went out whole.
	ok := 0
	for i := from; i < to && int(c.ends[i]) <= start+n; i++ {
		ok++
	}
	return ok, err
}

// Flush waits until every line queued before the call was handed to the destination,
// or until ctx is done. It reports the lines still undelivered at the deadline, and,
// when the destination refused lines since the last Flush or Close, how many and its
// last error.
func (a *AsyncWriter) Flush(ctx context.Context) error {
	a.mu.Lock()
	target := a.enq
	if a.done < target {
		a.flushers++ // the worker writes at once instead of waiting for more lines
		wake := a.waiting != 0
		a.waiting = 0
		for a.done < target {
			ch := a.waitLocked()
			a.mu.Unlock()
			a.signal(wake)
			wake = false
			select {
			case <-ch:
			case <-ctx.Done():
				a.mu.Lock()
				a.flushers--
				pending := target - a.done
				a.mu.Unlock()
				return fmt.Errorf("logfmt: flush: %d lines not yet delivered: %w", pending, ctx.Err())
			}
			a.mu.Lock()
		}
		a.flushers--
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

// Close stops accepting lines, delivers what is queued, and stops the goroutine.
//
// When ctx is done first, Close returns by then: the lines not yet handed to the
// destination are dropped (and counted), and the error wraps ctx.Err() and says how
// many lines were not delivered, those dropped and those inside a destination Write
// that has not returned. That Write cannot be interrupted: the goroutine stays in it,
// and stops as soon as it returns, counting those lines as written or failed then.
// Calling Close again waits for the goroutine to stop, within ctx.
func (a *AsyncWriter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		select {
		case <-a.exited:
			return nil
		case <-ctx.Done():
			a.mu.Lock()
			writing := a.writing
			a.mu.Unlock()
			return fmt.Errorf("logfmt: close: the writer goroutine is still in the destination's Write with %d lines: %w",
				writing, ctx.Err())
		}
	}
	a.closed = true
	a.notifyLocked() // blocked writers drop their lines
	wake := a.waiting != 0
	a.waiting = 0
	a.mu.Unlock()
	a.signal(wake)
	select {
	case <-a.exited:
		return a.failures("close")
	case <-ctx.Done():
	}

	a.mu.Lock()
	if a.lines == 0 { // delivered as the deadline passed; the goroutine is returning
		a.mu.Unlock()
		return a.failures("close")
	}
	a.stopped = true
	dropped := a.dropQueuedLocked()
	writing := a.writing
	a.notifyLocked()
	a.mu.Unlock()
	err := fmt.Errorf("logfmt: close: %d lines not delivered (%d dropped, %d in a destination Write that has not returned; "+
		"the writer goroutine stops when it returns): %w", dropped+writing, dropped, writing, ctx.Err())
	return errors.Join(err, a.failures("close"))
}

// dropQueuedLocked drops every line not yet handed to the destination: the queue and
// the unclaimed rest of the worker's batch. The caller holds mu and has set stopped.
func (a *AsyncWriter) dropQueuedLocked() int {
	n := 0
	drop := func(c *lineChunk, from int, recycle bool) {
		start, end := c.span(from, len(c.ends))
		k := len(c.ends) - from
		n += k
		a.lines -= k
		a.bytes -= end - start + c.waste
		if recycle {
			a.recycleLocked(c)
		}
	}
	if a.next < len(a.batch) && a.nextLine > 0 {
		// The worker is writing the first lines of this chunk (WithWritePerLine): drop
		// the rest, and leave the chunk to the worker, which recycles it after.
		drop(a.batch[a.next], a.nextLine, false)
		a.next++
	}
	for _, c := range a.batch[min(a.next, len(a.batch)):] {
		drop(c, 0, true)
	}
	a.next, a.nextLine = len(a.batch), 0
	for _, c := range a.queue {
		drop(c, 0, true)
	}
	clear(a.queue)
	a.queue, a.open, a.qLines, a.qBytes = a.queue[:0], nil, 0, 0
	a.dropped.Add(uint64(n))
	a.done += uint64(n)
	return n
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
