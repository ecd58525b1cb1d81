package logfmt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// hungWriter is a destination whose Write hangs until the test releases it (a pipe
// nobody reads): the AsyncWriter's goroutine is stuck inside it. Writes after the
// release return at once. The test's cleanup releases it, so no goroutine leaks.
type hungWriter struct {
	entered chan int // the number of lines of each Write that started
	gate    chan struct{}
	once    sync.Once
}

func newHungWriter(t *testing.T) *hungWriter {
	w := &hungWriter{entered: make(chan int, 64), gate: make(chan struct{})}
	t.Cleanup(w.release)
	return w
}

func (w *hungWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- bytes.Count(p, []byte("\n")):
	default:
	}
	<-w.gate
	return len(p), nil
}

func (w *hungWriter) release() { w.once.Do(func() { close(w.gate) }) }

// stuck waits until the destination's Write has started and returns its lines.
func (w *hungWriter) stuck(t *testing.T) int {
	t.Helper()
	select {
	case n := <-w.entered:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("the AsyncWriter never called the destination's Write")
		return 0
	}
}

// returnsBy fails the test when f takes much longer than d (the deadline it was given).
func returnsBy(t *testing.T, what string, d time.Duration, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	if took := time.Since(start); took > d+2*time.Second {
		t.Fatalf("%s took %v with a %v deadline", what, took, d)
	}
	return err
}

func TestAsyncCloseReturnsByTheDeadlineWhenTheDestinationHangs(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst)
	a.Write([]byte("first=1\n"))
	if n := dst.stuck(t); n != 1 {
		t.Fatalf("the hung Write holds %d lines, want the 1 written", n)
	}
	for range 9 {
		a.Write([]byte("queued=1\n"))
	}

	const deadline = 100 * time.Millisecond
	err := returnsBy(t, "Close", deadline, func() error { return a.Close(background(t, deadline)) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "10 lines not delivered") {
		t.Errorf("Close = %q, want it to say the 10 lines not delivered (9 queued, 1 in the hung Write)", err)
	}
	if a.Dropped() != 9 || a.Written() != 0 {
		t.Errorf("after Close: dropped %d, written %d; want the 9 queued lines dropped, none written", a.Dropped(), a.Written())
	}
	select {
	case <-a.Done():
		t.Fatal("Done is closed while the goroutine is inside the destination's Write")
	default:
	}

	dst.release() // the goroutine exits as soon as the Write returns
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the goroutine did not exit after the destination's Write returned")
	}
	if a.Written() != 1 || a.Dropped() != 9 || a.Failed() != 0 {
		t.Errorf("in the end: written %d, dropped %d, failed %d; want 1, 9, 0", a.Written(), a.Dropped(), a.Failed())
	}
	if err := a.Close(background(t, time.Second)); err != nil {
		t.Errorf("Close after the goroutine stopped = %v, want nil", err)
	}
}

func TestAsyncCloseAgainWaitsForTheHungWriteWithinItsDeadline(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst)
	a.Write([]byte("a=1\n"))
	dst.stuck(t)
	if err := a.Close(background(t, 20*time.Millisecond)); err == nil {
		t.Fatal("Close returned nil with the destination hung")
	}
	err := returnsBy(t, "second Close", 50*time.Millisecond, func() error {
		return a.Close(background(t, 50*time.Millisecond))
	})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 lines") {
		t.Errorf("second Close = %v, want DeadlineExceeded and the 1 line still in the Write", err)
	}
	dst.release()
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Errorf("Close after release = %v, want nil", err)
	}
}

func TestAsyncFlushReturnsByTheDeadlineWhenTheDestinationHangs(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst)
	a.Write([]byte("a=1\n"))
	dst.stuck(t)
	a.Write([]byte("b=1\n"))
	a.Write([]byte("c=1\n"))
	const deadline = 50 * time.Millisecond
	err := returnsBy(t, "Flush", deadline, func() error { return a.Flush(background(t, deadline)) })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 lines") {
		t.Errorf("Flush = %v, want DeadlineExceeded and the 3 lines not delivered", err)
	}
	if a.Dropped() != 0 {
		t.Errorf("Flush dropped %d lines; only Close drops", a.Dropped())
	}
	dst.release()
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Written() != 3 {
		t.Errorf("written %d after release and Close, want 3", a.Written())
	}
}

func TestDispatchShutdownReturnsByTheDeadlineWhenTheLogDestinationHangs(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst)
	d := subscriber.MustNew(storage.New(), logfmt.New(a))
	tr := d.Tracer("t")
	tr.Info(context.Background(), "first")
	dst.stuck(t)
	for i := range 5 {
		tr.Info(context.Background(), "queued", slog.Int("i", i))
	}
	const deadline = 100 * time.Millisecond
	err := returnsBy(t, "Shutdown", deadline, func() error { return d.Shutdown(background(t, deadline)) })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "6 lines not delivered") {
		t.Errorf("Shutdown = %v, want DeadlineExceeded and the 6 lines not delivered", err)
	}
	dst.release()
	<-a.Done()
	if a.Written() != 1 || a.Dropped() != 5 {
		t.Errorf("written %d, dropped %d; want 1 (the hung Write), 5", a.Written(), a.Dropped())
	}
}

// Writers blocked on a full queue (WithBlocking) return when Close gives up, and every
// line is counted.
func TestAsyncCloseReleasesBlockedWritersWhenTheDestinationHangs(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst, logfmt.WithBlocking(), logfmt.WithQueueSize(4))
	a.Write([]byte("first=1\n"))
	dst.stuck(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sent, closedErrs int
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				_, err := fmt.Fprintf(a, "g=%d i=%d\n", g, i)
				mu.Lock()
				sent++
				if errors.Is(err, logfmt.ErrClosed) {
					closedErrs++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // let the writers fill the queue and block
	err := returnsBy(t, "Close", 50*time.Millisecond, func() error { return a.Close(background(t, 50*time.Millisecond)) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	wg.Wait() // blocked writers returned
	dst.release()
	<-a.Done()
	if closedErrs == 0 {
		t.Error("no blocked Write returned ErrClosed")
	}
	if got := a.Written() + a.Dropped() + a.Failed(); got != uint64(sent)+1 {
		t.Errorf("written %d + dropped %d + failed %d = %d, want every line sent (%d)", a.Written(), a.Dropped(), a.Failed(), got, sent+1)
	}
}
