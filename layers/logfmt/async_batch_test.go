package logfmt_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
)

// sendLines writes n lines of varied lengths, one with a quoted newline-free value
// longer than the writer's 64 KiB buffers, and returns them.
func sendLines(t *testing.T, a *logfmt.AsyncWriter, n int) []string {
	t.Helper()
	sent := make([]string, 0, n)
	for i := range n {
		l := fmt.Sprintf("i=%d pad=%s\n", i, strings.Repeat("x", i%300))
		if i == n/2 {
			l = fmt.Sprintf("i=%d long=%s\n", i, strings.Repeat("y", 100<<10))
		}
		if _, err := a.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, l)
	}
	return sent
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("destination got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d = %.40q…, want %.40q…: lines cut, merged or out of order", i, got[i], want[i])
		}
	}
}

func TestAsyncWriterWritesManyWholeLinesPerDestinationWrite(t *testing.T) {
	dst := newGateWriter()
	a := logfmt.NewAsyncWriter(dst)
	defer a.Close(background(t, 5*time.Second))
	sent := sendLines(t, a, 2000) // ~400 KiB while the destination is held up
	close(dst.gate)
	if err := a.Flush(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	sameLines(t, dst.lines, sent) // slowWriter splits each call at newlines: a cut line would show
	// 400 KiB in 64 KiB buffers, the long line on its own, and the first call held up.
	if dst.calls > 12 {
		t.Errorf("%d destination Writes for %d lines, want them batched (at most 12)", dst.calls, len(sent))
	}
	if a.Written() != uint64(len(sent)) {
		t.Errorf("Written = %d, want %d", a.Written(), len(sent))
	}
}

func TestAsyncWriterWithWritePerLineWritesEachLineAlone(t *testing.T) {
	dst := newGateWriter()
	a := logfmt.NewAsyncWriter(dst, logfmt.WithWritePerLine())
	defer a.Close(background(t, 5*time.Second))
	sent := sendLines(t, a, 300)
	close(dst.gate)
	if err := a.Flush(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	sameLines(t, dst.lines, sent)
	if dst.calls != len(sent) {
		t.Errorf("%d destination Writes for %d lines, want one each", dst.calls, len(sent))
	}
}

// halfWriter takes the first half of every Write and fails the rest.
type halfWriter struct {
	mu    sync.Mutex
	whole int // lines that fit whole in the halves taken
	lines int
}

func (w *halfWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p) / 2
	w.whole += bytes.Count(p[:n], []byte("\n"))
	w.lines += bytes.Count(p, []byte("\n"))
	return n, errors.New("no space left on device")
}

func TestAsyncWriterCountsTheWholeLinesOfAShortWriteAsWritten(t *testing.T) {
	for _, perLine := range []bool{false, true} {
		t.Run(fmt.Sprint("perLine=", perLine), func(t *testing.T) {
			dst := &halfWriter{}
			var opts []logfmt.AsyncOption
			if perLine {
				opts = append(opts, logfmt.WithWritePerLine())
			}
			a := logfmt.NewAsyncWriter(dst, opts...)
			for i := range 50 {
				fmt.Fprintf(a, "i=%d\n", i)
			}
			err := a.Close(background(t, 5*time.Second))
			if err == nil || !strings.Contains(err.Error(), "no space left") {
				t.Errorf("Close = %v, want the destination's error", err)
			}
			dst.mu.Lock()
			defer dst.mu.Unlock()
			if dst.lines != 50 {
				t.Fatalf("the destination was offered %d lines, want 50 exactly once", dst.lines)
			}
			if a.Written() != uint64(dst.whole) || a.Failed() != uint64(50-dst.whole) {
				t.Errorf("written %d, failed %d; the destination took %d lines whole of 50", a.Written(), a.Failed(), dst.whole)
			}
		})
	}
}

// jitterWriter takes a random short time per Write and counts the lines it got.
type jitterWriter struct {
	mu    sync.Mutex
	lines int
}

func (w *jitterWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	w.mu.Lock()
	w.lines += bytes.Count(p, []byte("\n"))
	w.mu.Unlock()
	return len(p), nil
}

// Close cuts delivery off at a deadline while writers are still writing: every line is
// still counted exactly once, and the destination got exactly the lines counted written.
func TestAsyncEveryLineIsCountedOnceWhenCloseCutsDeliveryShort(t *testing.T) {
	for _, opts := range [][]logfmt.AsyncOption{
		nil,
		{logfmt.WithWritePerLine()},
		{logfmt.WithQueueSize(64)},
		{logfmt.WithQueueBytes(4 << 10), logfmt.WithBlocking()},
		{logfmt.WithQueueSize(8), logfmt.WithWritePerLine(), logfmt.WithBlocking()},
	} {
		for round := range 3 {
			dst := &jitterWriter{}
			a := logfmt.NewAsyncWriter(dst, opts...)
			var sent sync.WaitGroup
			var mu sync.Mutex
			attempts := 0
			stop := make(chan struct{})
			for g := range 4 {
				sent.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						fmt.Fprintf(a, "g=%d i=%d pad=%s\n", g, i, strings.Repeat("z", i%100))
						mu.Lock()
						attempts++
						mu.Unlock()
					}
				})
			}
			time.Sleep(time.Duration(5+5*round) * time.Millisecond)
			a.Close(background(t, time.Duration(round)*time.Millisecond))
			close(stop)
			sent.Wait()
			<-a.Done()
			total := a.Written() + a.Dropped() + a.Failed()
			dst.mu.Lock()
			got := dst.lines
			dst.mu.Unlock()
			if total != uint64(attempts) || uint64(got) != a.Written() {
				t.Errorf("%d options, round %d: written %d + dropped %d + failed %d = %d, want %d sent; destination got %d",
					len(opts), round, a.Written(), a.Dropped(), a.Failed(), total, attempts, got)
			}
		}
	}
}
