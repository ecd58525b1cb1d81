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
