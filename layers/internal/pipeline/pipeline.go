package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The defaults of [Config].
const (
	DefaultQueueSize     = 10_000
	DefaultBatchSize     = 200
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultSendTimeout   = 10 * time.Second
	// LogEvery is the shortest interval between two log lines of the same kind.
	LogEvery = 30 * time.Second
)

// Sender puts batches on the wire.
type Sender[T any] interface {
	// Send delivers a batch, called from the pipeline's one goroutine only. nil: all
	// delivered. An error wrapped with Retry (pipeline.Retry(err)) means nothing of
	// the batch reached the peer (connection refused, not connected): the pipeline
	// keeps the batch and retries after a backoff with jitter. An error wrapped with
	// Partial says how many items were delivered: those count as sent, the rest as
	// failed, and nothing is retried. Any other error: the batch's items count as
	// failed (lost in flight).
	//
	// ctx expires after Config.SendTimeout, and is cancelled when Shutdown's deadline
	// passes. Send must not keep batch (the pipeline reuses its memory).
	Send(ctx context.Context, batch []T) error
}

// SenderFunc adapts a function to a [Sender]:
//
//	pipeline.New(cfg, pipeline.SenderFunc[*agentv3.SegmentObject](client.SendSegments))
type SenderFunc[T any] func(ctx context.Context, batch []T) error

// Send calls f.
func (f SenderFunc[T]) Send(ctx context.Context, batch []T) error { return f(ctx, batch) }

// Config configures a [Pipeline]. Zero values take the defaults.
type Config struct {
	// Name is used in errors and logs: "skywalking segments".
	Name string
	// QueueSize is how many items the pipeline holds at most, those being sent
	// included; default 10,000. The ring buffer is allocated up front.
	QueueSize int
	// BatchSize is how many items one Send gets at most; default 200.
	BatchSize int
	// FlushInterval is the longest an item waits for a fuller batch; default 200ms.
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before a batch is sent again after a
	// Send returned a Retry error; defaults 100ms and 30s. The wait doubles with each
	// attempt and is jittered (between half and the whole of the doubled value).
	MinBackoff, MaxBackoff time.Duration
	// SendTimeout bounds one Send call through its context; default 10s.
	SendTimeout time.Duration
	// Logf receives errors, at most one line per kind every 30s; nil: log.Printf.
	Logf func(format string, args ...any)
}

// Stats counts what became of the items offered to a pipeline. At any moment,
// Enqueued == Sent + Failed + Dropped + Queued.
type Stats struct {
	// Enqueued counts the calls to Enqueue, accepted or not.
	Enqueued uint64
	// Sent counts the items of batches the Sender delivered.
	Sent uint64
	// Dropped counts the items Enqueue refused: the queue was full, or the pipeline
	// was shut down.
	Dropped uint64
	// Failed counts the items lost in flight (a Send returned an error that was not a
	// Retry) and those not delivered when Shutdown's deadline passed.
	Failed uint64
	// Retries counts the Send calls that returned a Retry error.
	Retries uint64
	// Queued is the number of items accepted and not yet sent or failed, those in a
	// Send that has not returned included.
	Queued int
}

// What the goroutine waits for (Pipeline.waiting).
const (
	waitIdle    = 1 + iota // the queue is empty: the first item wakes it
	waitLinger             // items are queued: a full batch wakes it
	waitBackoff            // a batch waits for a retry: Flush or Shutdown wakes it
)

// Pipeline queues items and sends them in batches from one goroutine it owns. Make it
// with [New] and stop it with [Pipeline.Shutdown]. Its methods are safe for concurrent
// use.
type Pipeline[T any] struct {
	name          string
	batchSize     int
	flushInterval time.Duration
	minBackoff    time.Duration
	maxBackoff    time.Duration
	sendTimeout   time.Duration
	sender        Sender[T]
	log           *LogLimiter

	mu        sync.Mutex
	ring      []T // items accepted and not yet taken, from ring[head], n of them
	head, n   int
	inflight  int  // items taken by the goroutine and not yet sent or failed
	closed    bool // Shutdown was called: Enqueue drops, the goroutine does not linger
	abandoned bool // Shutdown's deadline passed: what was left counted as failed
	waiting   int  // waitIdle or waitLinger while the goroutine waits for wake
	flushers  int  // Flush calls waiting: the goroutine does not linger

	accepted, done uint64        // items accepted; items accepted and since sent or failed
	progress       chan struct{} // closed when done advances; nil when nobody waits
	stats          Stats         // Queued is computed by Stats
	reported       uint64        // failed items already reported by Flush or Shutdown
	lastErr        error         // the last Send error that failed items

	// Owned by the goroutine.
	batch        []T
	loggedDrops  uint64
	backoffTimer *time.Timer

	wake    chan struct{} // tells the waiting goroutine there is work
	stop    chan struct{} // closed when Shutdown abandons what is left
	exited  chan struct{} // closed when the goroutine returns
	sendCtx context.Context
	cancel  context.CancelFunc
}

// New returns a pipeline that sends batches through s, and starts its goroutine.
// Call Shutdown to stop it.
func New[T any](cfg Config, s Sender[T]) *Pipeline[T] {
	cfg = cfg.withDefaults()
	p := &Pipeline[T]{
		name:          cfg.Name,
		batchSize:     cfg.BatchSize,
		flushInterval: cfg.FlushInterval,
		minBackoff:    cfg.MinBackoff,
		maxBackoff:    cfg.MaxBackoff,
		sendTimeout:   cfg.SendTimeout,
		sender:        s,
		log:           NewLogLimiter(cfg.Logf, LogEvery),
		ring:          make([]T, cfg.QueueSize),
		batch:         make([]T, 0, cfg.BatchSize),
		wake:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		exited:        make(chan struct{}),
	}
	p.sendCtx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "pipeline"
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	c.BatchSize = min(c.BatchSize, c.QueueSize)
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	return c
}

// Enqueue queues item for sending. It never blocks: when the queue is full, or after
// Shutdown, it drops the item, counts it in Stats.Dropped and returns false.
func (p *Pipeline[T]) Enqueue(item T) bool {
	p.mu.Lock()
	p.stats.Enqueued++
	if p.closed || p.n+p.inflight >= len(p.ring) {
		p.stats.Dropped++
		p.mu.Unlock()
		return false
	}
	i := p.head + p.n
	if i >= len(p.ring) {
		i -= len(p.ring)
	}
	p.ring[i] = item
	p.n++
	p.accepted++
	wake := p.waiting == waitIdle || (p.waiting == waitLinger && p.n >= p.batchSize)
	if wake {
		p.waiting = 0
	}
	p.mu.Unlock()
	if wake {
		p.signal()
	}
	return true
}

// signal wakes the goroutine; the caller set p.waiting to 0 under mu.
func (p *Pipeline[T]) signal() {
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// wakeLocked wakes the goroutine if it waits. The caller holds mu and calls signal
// after unlocking when it returns true.
func (p *Pipeline[T]) wakeLocked() bool {
	w := p.waiting != 0
	p.waiting = 0
	return w
}

// Stats returns the pipeline's counters.
func (p *Pipeline[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Queued = int(p.accepted - p.done)
	return s
}

// Done returns a channel closed when the pipeline's goroutine has returned.
func (p *Pipeline[T]) Done() <-chan struct{} { return p.exited }

// Flush makes the goroutine send what is queued without lingering, and waits until
// every item enqueued before the call was sent or failed, or until ctx is done. Its
// error says how many items were still undelivered at ctx's deadline (they stay
// queued), or how many failed since the last Flush or Shutdown, and why.
func (p *Pipeline[T]) Flush(ctx context.Context) error {
	p.mu.Lock()
	target := p.accepted
	if p.done < target {
		p.flushers++
		wake := p.wakeLocked()
		for p.done < target {
			ch := p.progressLocked()
			p.mu.Unlock()
			if wake {
				p.signal()
				wake = false
			}
			select {
			case <-ch:
			case <-ctx.Done():
				p.mu.Lock()
				p.flushers--
				pending := target - min(p.done, target)
				p.mu.Unlock()
				return fmt.Errorf("%s: flush: %d items not yet delivered: %w", p.name, pending, ctx.Err())
			}
			p.mu.Lock()
		}
		p.flushers--
	}
	p.mu.Unlock()
	return p.failures("flush")
}

// Shutdown stops accepting items, delivers what is queued within ctx, and stops the
// goroutine. It returns nil when everything accepted was sent.
//
// When ctx is done first, Shutdown returns by then: the items not yet delivered (queued,
// waiting for a retry, or in a Send that has not returned) count as failed, even if
// that Send succeeds later; the context of that Send is cancelled, and the goroutine
// returns as soon as the Send does. The error wraps ctx.Err() and says how many items
// were not delivered, counting those that failed to send since the last Flush (it
// wraps their last error too).
//
// Calling Shutdown again waits for the goroutine to return, within ctx.
func (p *Pipeline[T]) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	again := p.closed
	p.closed = true
	wake := p.wakeLocked()
	p.mu.Unlock()
	if wake {
		p.signal()
	}
	select {
	case <-p.exited:
		if again {
			return nil
		}
		return p.failures("shutdown")
	case <-ctx.Done():
	}

	p.mu.Lock()
	if p.abandoned {
		p.mu.Unlock()
		return fmt.Errorf("%s: shutdown: the goroutine has not returned (a Send ignores its context): %w", p.name, ctx.Err())
	}
	queued, inflight := p.n, p.inflight
	lost := queued + inflight
	if lost == 0 {
		// Delivered as the deadline passed: the goroutine is returning.
		p.mu.Unlock()
		return p.failures("shutdown")
	}
	p.abandoned = true
	p.dropRingLocked()
	p.inflight = 0
	earlier := p.stats.Failed - p.reported // failed in flight, not yet reported
	p.stats.Failed += uint64(lost)
	p.reported = p.stats.Failed
	p.done += uint64(lost)
	p.notifyLocked()
	close(p.stop)
	lastErr := p.lastErr
	p.mu.Unlock()
	p.cancel()
	total := uint64(lost) + earlier
	if earlier == 0 {
		return fmt.Errorf("%s: shutdown: %d items not delivered (%d queued, %d in a Send that had not succeeded): %w",
			p.name, total, queued, inflight, ctx.Err())
	}
	return fmt.Errorf("%s: shutdown: %d items not delivered (%d queued, %d in a Send that had not succeeded, %d failed to send: %w): %w",
		p.name, total, queued, inflight, earlier, lastErr, ctx.Err())
}

// dropRingLocked empties the ring, releasing what its items reference. The caller
// holds mu.
func (p *Pipeline[T]) dropRingLocked() {
	clear(p.ring)
	p.head, p.n = 0, 0
}

// failures reports the items that failed since the last report.
func (p *Pipeline[T]) failures(op string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.stats.Failed - p.reported
	p.reported = p.stats.Failed
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s: %d items failed to send: %w", p.name, op, n, p.lastErr)
}

// progressLocked returns a channel closed at the next progress. The caller holds mu.
func (p *Pipeline[T]) progressLocked() chan struct{} {
	if p.progress == nil {
		p.progress = make(chan struct{})
	}
	return p.progress
}

// notifyLocked wakes everyone waiting for progress. The caller holds mu.
func (p *Pipeline[T]) notifyLocked() {
	if p.progress != nil {
		close(p.progress)
		p.progress = nil
	}
}

// run is the pipeline's goroutine.
func (p *Pipeline[T]) run() {
	defer close(p.exited)
	defer p.cancel()
	p.backoffTimer = time.NewTimer(time.Hour)
	p.backoffTimer.Stop()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lingerUntil time.Time // when the oldest queued item has waited FlushInterval
	for {
		p.mu.Lock()
		p.waiting = 0
		if p.abandoned {
			p.mu.Unlock()
			return
		}
		if p.n == 0 {
			if p.closed {
				p.mu.Unlock()
				return
			}
			p.waiting = waitIdle
			p.mu.Unlock()
			select {
			case <-p.wake:
			case <-p.stop:
				return
			}
			lingerUntil = time.Time{}
			continue
		}
		if lingerUntil.IsZero() { // the first items since the queue was empty
			lingerUntil = time.Now().Add(p.flushInterval)
		}
		if p.n < p.batchSize && !p.closed && p.flushers == 0 {
			if d := time.Until(lingerUntil); d > 0 {
				p.waiting = waitLinger
				p.mu.Unlock()
				linger.Reset(d)
				select {
				case <-p.wake:
				case <-linger.C:
				case <-p.stop:
					linger.Stop()
					return
				}
				linger.Stop()
				continue
			}
		}
		k := min(p.n, p.batchSize)
		batch := p.batch[:k]
		for i := range batch {
			j := p.head + i
			if j >= len(p.ring) {
				j -= len(p.ring)
			}
			batch[i] = p.ring[j]
			var zero T
			p.ring[j] = zero
		}
		p.head += k
		if p.head >= len(p.ring) {
			p.head -= len(p.ring)
		}
		p.n -= k
		p.inflight = k
		p.mu.Unlock()

		taken := time.Now()
		ok := p.deliver(batch)
		clear(batch)
		if !ok {
			return
		}
		// What is left arrived before the batch was taken or since: it waits at most
		// FlushInterval from then.
		lingerUntil = taken.Add(p.flushInterval)
	}
}

// deliver sends batch until it is sent, fails, or Shutdown abandons it. It returns
// false when the goroutine must return.
func (p *Pipeline[T]) deliver(batch []T) bool {
	k := uint64(len(batch))
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.sendCtx, p.sendTimeout)
		err := p.send(ctx, batch)
		cancel()
		retry := WillRetry(err)

		p.mu.Lock()
		if p.abandoned { // Shutdown counted the batch as failed
			p.mu.Unlock()
			return false
		}
		if retry {
			p.stats.Retries++
			// Flush and Shutdown cut the wait short: they try once more at once.
			select {
			case <-p.wake: // a stale wake-up must not
			default:
			}
			p.waiting = waitBackoff
			p.mu.Unlock()
			wait := p.backoff(attempt)
			p.log.Logf("retry", "%s: %d items not sent, retrying in %v: %v", p.name, k, wait.Round(time.Millisecond), err)
			p.backoffTimer.Reset(wait)
			select {
			case <-p.backoffTimer.C:
			case <-p.wake:
			case <-p.stop:
				p.backoffTimer.Stop()
				return false
			}
			p.backoffTimer.Stop()
			p.mu.Lock()
			p.waiting = 0
			p.mu.Unlock()
			continue
		}
		lost := k
		if err == nil {
			lost = 0
		} else {
			lost -= delivered(err, k)
			p.lastErr = err
		}
		p.stats.Sent += k - lost
		p.stats.Failed += lost
		p.inflight = 0
		p.done += k
		p.notifyLocked()
		dropped := p.stats.Dropped
		p.mu.Unlock()

		if err != nil {
			p.log.Logf("failed", "%s: %d items lost: %v", p.name, lost, err)
		}
		if dropped > p.loggedDrops {
			if p.log.Logf("dropped", "%s: queue full (%d items): %d items dropped", p.name, len(p.ring), dropped-p.loggedDrops) {
				p.loggedDrops = dropped
			}
		}
		return true
	}
}

// send calls the Sender, turning a panic into an error: a Sender's bug loses its
// batch, not the goroutine and everything queued behind it.
func (p *Pipeline[T]) send(ctx context.Context, batch []T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: sender panicked: %v", p.name, r)
		}
	}()
	return p.sender.Send(ctx, batch)
}
