package logfmt_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
)

// A burst of 100,000 short lines while the destination is held up fits in the default
// queue, as it does in tracing-appender's (128,000 lines).
func TestAsyncWriterDefaultQueueHoldsABurstOf100kLines(t *testing.T) {
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst)
	line := []byte("level=INFO msg=burst subject=vendor.lastfm n=12345\n")
	a.Write(line)
	dst.stuck(t)
	for range 100_000 - 1 {
		a.Write(line)
	}
	if a.Dropped() != 0 {
		t.Errorf("dropped %d of a 100k-line burst with the default queue", a.Dropped())
	}
	dst.release()
	if err := a.Close(background(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Written() != 100_000 {
		t.Errorf("written %d, want 100000", a.Written())
	}
}

func TestAsyncWriterQueueIsBoundedByBytes(t *testing.T) {
	const bound = 1000
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueBytes(bound))
	line := append(bytes.Repeat([]byte("x"), 99), '\n') // 100 bytes
	a.Write(line)
	dst.stuck(t) // a line in the destination's Write still counts against the bound
	for range 20 {
		a.Write(line)
	}
	held := 21 - int(a.Dropped())
	if held*len(line) > bound || held < 5 {
		t.Errorf("the queue holds %d lines of %d bytes with a bound of %d bytes", held, len(line), bound)
	}
	dst.release()
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Written() != uint64(held) {
		t.Errorf("written %d, want the %d lines held", a.Written(), held)
	}
}

func TestAsyncWriterTakesALineLongerThanTheByteBoundWhenEmpty(t *testing.T) {
	dst := &slowWriter{}
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueBytes(10))
	long := append(bytes.Repeat([]byte("y"), 100), '\n')
	a.Write(long)
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a.Dropped() != 0 || dst.count() != 1 || dst.lines[0] != string(long) {
		t.Errorf("dropped %d, delivered %d lines: a line longer than the bound is taken into an empty queue", a.Dropped(), dst.count())
	}
}

// The queue's memory stays near its byte bound, whatever is offered.
func TestAsyncWriterQueueMemoryStaysNearItsByteBound(t *testing.T) {
	const bound = 1 << 20
	dst := newHungWriter(t)
	a := logfmt.NewAsyncWriter(dst, logfmt.WithQueueBytes(bound))
	line := append(bytes.Repeat([]byte("m"), 99), '\n')
	a.Write(line)
	dst.stuck(t)
	before := heapInUse()
	for range 100_000 { // 10 MB offered
		a.Write(line)
	}
	grown := int64(heapInUse()) - int64(before)
	// The bound, two partly used 64 KiB buffers, 4 bytes per line of index, and slack.
	if limit := int64(bound + 128<<10 + 4*bound/len(line) + 512<<10); grown > limit {
		t.Errorf("the heap grew by %d bytes holding a queue bounded to %d bytes; want at most %d", grown, bound, limit)
	}
	dst.release()
	if err := a.Close(background(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestAsyncWriteDoesNotAllocateInSteadyState(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	a := logfmt.NewAsyncWriter(io.Discard)
	defer a.Close(background(t, 5*time.Second))
	line := append(bytes.Repeat([]byte("a"), 199), '\n')
	for range 10_000 {
		a.Write(line)
	}
	if allocs := testing.AllocsPerRun(20_000, func() { a.Write(line) }); allocs != 0 {
		t.Errorf("Write allocates %.2f times per line, want 0", allocs)
	}
}
