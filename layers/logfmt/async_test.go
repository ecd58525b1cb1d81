package logfmt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// slowWriter takes delay per Write and remembers the lines it got (an AsyncWriter
// may write many lines in one call), and the calls.
type slowWriter struct {
	delay time.Duration
	mu    sync.Mutex
	lines []string
	calls int
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n') + 1
		if i == 0 {
			i = len(p)
		}
		w.lines = append(w.lines, string(p[:i]))
		p = p[i:]
	}
	return n, nil
}

func (w *slowWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lines)
}

// gateWriter blocks every Write until the gate is opened.
type gateWriter struct {
	slowWriter
	gate chan struct{}
}

func newGateWriter() *gateWriter { return &gateWriter{gate: make(chan struct{})} }

func (w *gateWriter) Write(p []byte) (int, error) {
	<-w.gate
	return w.slowWriter.Write(p)
}

func background(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestAsyncWriterCountsEveryDroppedLineExactly(t *testing.T) {
	dst := &slowWriter{delay: time.Millisecond}
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueSize(4))
	const goroutines, perG = 4, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				if n, err := fmt.Fprintf(a, "g=%d i=%d\n", g, i); err != nil || n == 0 {
					t.Errorf("Write = %d, %v; a lossy drop is not an error", n, err)
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(background(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	written, dropped := a.Written(), a.Dropped()
	if written+dropped != goroutines*perG {
		t.Errorf("written %d + dropped %d = %d, want every line sent (%d) accounted for", written, dropped, written+dropped, goroutines*perG)
	}
	if dropped == 0 {
		t.Error("no line dropped although the writer was 1ms per line behind a queue of 4")
	}
	if uint64(dst.count()) != written {
		t.Errorf("destination got %d lines, Written says %d", dst.count(), written)
	}
}

func TestAsyncWriterFlushDeliversEverythingQueued(t *testing.T) {
	dst := newGateWriter()
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueSize(100))
	defer a.Close(background(t, 5*time.Second))
	for i := range 50 {
		fmt.Fprintf(a, "n=%d\n", i)
	}
	close(dst.gate)
	if err := a.Flush(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := dst.count(); got != 50 {
		t.Fatalf("after Flush the destination has %d lines, want 50", got)
	}
	for i, l := range dst.lines {
		if l != fmt.Sprintf("n=%d\n", i) {
			t.Fatalf("line %d = %q: lines out of order", i, l)
		}
	}
}

func TestAsyncWriterFlushSaysWhatIsUndeliveredAtTheDeadline(t *testing.T) {
	dst := newGateWriter()
	a := logfmt.NewAsyncWriter(dst)
	for range 5 {
		a.Write([]byte("x=1\n"))
	}
	err := a.Flush(background(t, 30*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "5 lines") {
		t.Errorf("Flush at deadline = %v, want the 5 pending lines and DeadlineExceeded", err)
	}
	close(dst.gate)
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Written() != 5 {
		t.Errorf("Written = %d after Close, want 5", a.Written())
	}
}

func TestAsyncWriterCloseStopsItsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	a := logfmt.NewAsyncWriter(&slowWriter{})
	a.Write([]byte("a=1\n"))
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("Done not closed after Close returned")
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before NewAsyncWriter", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.Close(background(t, time.Second)); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestAsyncWriteAfterCloseIsCountedAsDropped(t *testing.T) {
	a := logfmt.NewAsyncWriter(&slowWriter{})
	a.Close(background(t, time.Second))
	n, err := a.Write([]byte("late=1\n"))
	if !errors.Is(err, logfmt.ErrClosed) || n != 0 {
		t.Errorf("Write after Close = %d, %v; want 0, ErrClosed", n, err)
	}
	if a.Dropped() != 1 {
		t.Errorf("Dropped = %d, want 1", a.Dropped())
	}
}

func TestAsyncBlockingModeLosesNothing(t *testing.T) {
	dst := &slowWriter{delay: 100 * time.Microsecond}
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueSize(2), logfmt.WithBlocking())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				fmt.Fprintf(a, "g=%d i=%d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := a.Close(background(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Dropped() != 0 || a.Written() != 400 || dst.count() != 400 {
		t.Errorf("blocking mode: written %d, dropped %d, destination %d; want 400, 0, 400", a.Written(), a.Dropped(), dst.count())
	}
}

type errWriter struct{ n atomic.Int32 }

func (w *errWriter) Write(p []byte) (int, error) {
	w.n.Add(1)
	return 0, errors.New("broken pipe")
}

func TestAsyncFlushReportsDestinationErrors(t *testing.T) {
	a := logfmt.NewAsyncWriter(&errWriter{})
	defer a.Close(background(t, time.Second))
	a.Write([]byte("a=1\n"))
	err := a.Flush(background(t, 5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "broken pipe") || a.Failed() != 1 {
		t.Errorf("Flush = %v, Failed = %d; want the destination's error and 1", err, a.Failed())
	}
}

func TestDispatchShutdownClosesTheLayersAsyncWriter(t *testing.T) {
	dst := &slowWriter{}
	a := logfmt.NewAsyncWriter(dst)
	d := subscriber.MustNew(storage.New(), logfmt.New(a))
	tr := d.Tracer("t")
	for range 20 {
		tr.Info(context.Background(), "ev")
	}
	if err := d.Shutdown(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("the async writer's goroutine runs after the dispatch's Shutdown")
	}
	if dst.count() != 20 {
		t.Errorf("%d lines delivered at Shutdown, want 20", dst.count())
	}
}
