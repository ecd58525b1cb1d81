package pipeline

import (
	"errors"
	"math/rand/v2"
	"time"
)

// retryError marks an error after which nothing of a batch reached the peer.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// Retry wraps err to tell the pipeline that nothing of the batch reached the peer, so
// sending it again cannot duplicate anything: the pipeline keeps the batch and retries
// after a backoff. The message is err's. Retry(nil) is nil.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return &retryError{err}
}

// IsRetry reports whether err, or an error it wraps, was wrapped with [Retry].
func IsRetry(err error) bool {
	var r *retryError
	return errors.As(err, &r)
}

// partialError tells the pipeline how many items of a batch were delivered.
type partialError struct {
	err       error
	delivered int
}

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// Partial wraps err to tell the pipeline that delivered items of the batch reached the
// peer and the rest were lost (a sender that writes a batch as several datagrams, one of
// which failed or was too large): the pipeline counts delivered items as Sent and the
// rest as Failed, and does not retry. delivered is clamped to the batch's size.
// Partial(nil, n) is nil.
func Partial(err error, delivered int) error {
	if err == nil {
		return nil
	}
	return &partialError{err: err, delivered: max(delivered, 0)}
}

// WillRetry reports whether the pipeline sends a batch again after its Sender returned
// err: err was wrapped with [Retry] and not with [Partial]. A sender that recycles the
// items of a batch does so only when WillRetry is false.
func WillRetry(err error) bool { return err != nil && IsRetry(err) && !isPartial(err) }

func isPartial(err error) bool {
	var pe *partialError
	return errors.As(err, &pe)
}

// delivered returns how many of k items err says were delivered: 0 unless err was
// wrapped with [Partial].
func delivered(err error, k uint64) uint64 {
	var pe *partialError
	if errors.As(err, &pe) {
		return min(uint64(pe.delivered), k)
	}
	return 0
}

// backoff returns the wait before the attempt after the given one (0 for the first
// retry): MinBackoff doubled attempt times, at most MaxBackoff, then "equal jitter"
// (between half and the whole of it, never below MinBackoff), so that many processes
// that lost the same peer do not come back at the same instant.
func (p *Pipeline[T]) backoff(attempt int) time.Duration {
	d := p.minBackoff
	for i := 0; i < attempt && d < p.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.maxBackoff)
	return max(d/2+rand.N(d/2+1), p.minBackoff)
}
