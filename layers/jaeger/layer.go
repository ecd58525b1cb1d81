package jaeger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/internal/spanexport"
)

// minSpanRoom is the least room a datagram must leave for spans once the process and
// the message's framing are written: enough for a span with its ids, times and a
// short name.
const minSpanRoom = 256

// maxArena is the most memory the encoded spans of a batch keep between sends.
const maxArena = 8 << 20

// Layer exports spans to a Jaeger agent as Thrift compact emitBatch datagrams over UDP.
// It embeds the span exporter's hooks; compose it after storage:
//
//	d := subscriber.MustNew(storage.New(), jaegerLayer)
//
// Its methods are safe for concurrent use.
type Layer struct {
	*spanexport.Exporter

	addr string
	cfg  config // as resolved, for tests
	conn net.Conn
	w    wire
	log  *pipeline.LogLimiter

	truncated, tooLarge, datagrams atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// wire is what the pipeline's goroutine uses to encode and write datagrams; only that
// goroutine touches it.
type wire struct {
	process   *jaeger.Process
	maxPacket int
	envelope  int // bytes of a datagram that are not spans, at most
	seq       int32
	seqNo     int64

	enc   spanEncoder
	arena *thrift.TMemoryBuffer // the encoded spans of a batch, one after the other
	ap    *thrift.TCompactProtocol
	ends  []int                 // where each encoded span ends in arena
	dg    *thrift.TMemoryBuffer // the datagram being built
	dp    *thrift.TCompactProtocol
	stats jaeger.ClientStats
}

// New returns a layer that sends spans to the agent named by [WithAgent] (default
// [DefaultAgent]) and starts its sending goroutine; [Layer.Shutdown] (or the
// dispatch's) stops it. Its error names the option at fault; a host name that does
// not resolve is an error too.
func New(opts ...Option) (*Layer, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return newLayer(&c)
}

// FromEnv is [New] with the configuration read from the environment first (see the
// Env* constants and the package documentation); explicit options win over it. A
// malformed variable is an error that names it.
func FromEnv(opts ...Option) (*Layer, error) {
	var c config
	c.fromEnv()
	for _, o := range opts {
		o(&c)
	}
	return newLayer(&c)
}

func newLayer(c *config) (*Layer, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	l := &Layer{addr: c.agent.v, cfg: *c}
	l.w.process = buildProcess(c)
	l.w.maxPacket = c.maxPacket.v
	l.w.arena = thrift.NewTMemoryBufferLen(c.maxPacket.v)
	l.w.ap = thrift.NewTCompactProtocol(l.w.arena)
	l.w.dg = thrift.NewTMemoryBufferLen(c.maxPacket.v)
	l.w.dp = thrift.NewTCompactProtocol(l.w.dg)
	env, err := l.w.measureEnvelope()
	if err != nil {
		return nil, fmt.Errorf("jaeger: encode the process: %w", err)
	}
	if c.maxPacket.v-env < minSpanRoom {
		return nil, fmt.Errorf("jaeger: %s(%d): the process (service name and tags) takes %d bytes, leaving less than %d for spans",
			orDefault2(c.maxPacket.from, "WithMaxPacketSize"), c.maxPacket.v, env, minSpanRoom)
	}
	l.w.envelope = env
	conn, err := net.Dial("udp", c.agent.v)
	if err != nil {
		return nil, fmt.Errorf("jaeger: %s(%q): %w", orDefault(c.agent.from), c.agent.v, err)
	}
	l.conn = conn
	l.log = pipeline.NewLogLimiter(c.logf, 0)
	l.Exporter = spanexport.New(spanexport.Config{Pipeline: pipeline.Config{
		Name:          "jaeger spans",
		QueueSize:     c.queueSize.v,
		BatchSize:     c.batchSize.v,
		FlushInterval: c.flush.v,
		Logf:          c.logf,
	}}, l.send)
	return l, nil
}

func orDefault2(from, def string) string {
	if from == "" {
		return def
	}
	return from
}

// buildProcess is the Process of every batch: the service name, the predefined tags
// (hostname, ip, jaeger.version) and the configured ones, later keys replacing earlier.
func buildProcess(c *config) *jaeger.Process {
	var attrs []slog.Attr
	if h, err := os.Hostname(); err == nil && h != "" {
		attrs = append(attrs, slog.String("hostname", h))
	}
	attrs = append(attrs, slog.String("ip", hostIP()), slog.String("jaeger.version", "Go-strata-"+moduleVersion()))
	for _, t := range c.tags {
		attrs = append(attrs, t.attr)
	}
	// Later keys replace earlier ones, in place.
	var kept []slog.Attr
	at := map[string]int{}
	for _, a := range attrs {
		if i, ok := at[a.Key]; ok {
			kept[i] = a
			continue
		}
		at[a.Key] = len(kept)
		kept = append(kept, a)
	}
	var e spanEncoder
	for _, a := range kept {
		e.attr(a.Key, a.Value.Resolve())
	}
	return &jaeger.Process{ServiceName: c.service.v, Tags: e.tagPtrs}
}

// hostIP is the first non-loopback IPv4 address of the host, as the Jaeger clients
// report it, else 127.0.0.1.
func hostIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
				if v4 := n.IP.To4(); v4 != nil {
					return v4.String()
				}
			}
		}
	}
	return "127.0.0.1"
}

// moduleVersion is the strata module's version in the build, or "devel".
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == "github.com/strata-go/strata" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/strata-go/strata" && d.Version != "" && d.Version != "(devel)" {
			return d.Version
		}
	}
	return "devel"
}

// measureEnvelope returns the most bytes a datagram takes besides its spans: the
// message header, the process, the framing of the batch and its seqNo and stats, with
// the longest encodings of their numbers.
func (w *wire) measureEnvelope() (int, error) {
	w.stats = jaeger.ClientStats{FullQueueDroppedSpans: math.MinInt64, TooLargeDroppedSpans: math.MinInt64, FailedToEmitSpans: math.MinInt64}
	if err := w.datagram(context.Background(), -1, math.MinInt64, nil, 0); err != nil {
		return 0, err
	}
	// The list header of zero spans is one byte; of many, at most one and a
	// five-byte varint.
	return w.dg.Len() - 1 + 6, nil
}

// datagram builds in w.dg the emitBatch message of the n spans encoded in spans.
func (w *wire) datagram(ctx context.Context, seq int32, seqNo int64, spans []byte, n int) error {
	w.dg.Reset()
	p := w.dp
	// Writes to a memory buffer do not fail; the errors are checked all the same.
	err := p.WriteMessageBegin(ctx, "emitBatch", thrift.ONEWAY, seq)
	if err == nil {
		err = p.WriteStructBegin(ctx, "emitBatch_args")
	}
	if err == nil {
		err = p.WriteFieldBegin(ctx, "batch", thrift.STRUCT, 1)
	}
	if err == nil {
		err = p.WriteStructBegin(ctx, "Batch")
	}
	if err == nil {
		err = p.WriteFieldBegin(ctx, "process", thrift.STRUCT, 1)
	}
	if err == nil {
		err = w.process.Write(ctx, p)
	}
	if err == nil {
		err = p.WriteFieldEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldBegin(ctx, "spans", thrift.LIST, 2)
	}
	if err == nil {
		err = p.WriteListBegin(ctx, thrift.STRUCT, n)
	}
	if err == nil {
		// The spans were encoded one by one with the generated jaeger.Span.Write: a
		// struct's compact encoding does not depend on what surrounds it, so their
		// bytes are the list's elements as they are.
		_, err = w.dg.Write(spans)
	}
	if err == nil {
		err = p.WriteListEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldBegin(ctx, "seqNo", thrift.I64, 3)
	}
	if err == nil {
		err = p.WriteI64(ctx, seqNo)
	}
	if err == nil {
		err = p.WriteFieldEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldBegin(ctx, "stats", thrift.STRUCT, 4)
	}
	if err == nil {
		err = w.stats.Write(ctx, p)
	}
	if err == nil {
		err = p.WriteFieldEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldStop(ctx) // Batch
	}
	if err == nil {
		err = p.WriteStructEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldEnd(ctx)
	}
	if err == nil {
		err = p.WriteFieldStop(ctx) // emitBatch_args
	}
	if err == nil {
		err = p.WriteStructEnd(ctx)
	}
	if err == nil {
		err = p.WriteMessageEnd(ctx)
	}
	return err
}

// send is the pipeline's Sender: it encodes the batch's spans, packs them into as few
// datagrams as fit under the packet size, and writes them.
func (l *Layer) send(ctx context.Context, batch []*spanexport.Span) error {
	w := &l.w
	w.arena.Reset()
	w.ends = w.ends[:0]
	maxSpan := w.maxPacket - w.envelope
	var tooLarge int
	for _, s := range batch {
		start := w.arena.Len()
		keep, kept := keepAll, false
		for {
			js := w.enc.build(s, keep)
			err := js.Write(ctx, w.ap)
			if err == nil && w.arena.Len()-start <= maxSpan {
				kept = true
				break
			}
			w.arena.Truncate(start)
			if err != nil || keep == dropTags {
				break
			}
			keep++
			if keep == dropLogs && len(s.Events) == 0 {
				keep = dropTags // no logs to drop: the tags are next
			}
		}
		if !kept {
			tooLarge++
			l.log.Logf("too large", "jaeger: span %q (%d events, %d fields) does not fit in a %d-byte datagram even without its logs and fields: dropped",
				s.Name, len(s.Events), len(s.Attrs), w.maxPacket)
			continue
		}
		if keep > keepAll {
			l.truncated.Add(1)
		}
		w.ends = append(w.ends, w.arena.Len())
	}
	l.tooLarge.Add(uint64(tooLarge))

	if dl, ok := ctx.Deadline(); ok {
		_ = l.conn.SetWriteDeadline(dl)
	} else {
		_ = l.conn.SetWriteDeadline(time.Time{})
	}
	all := w.arena.Bytes()
	var sent, failed int
	var firstErr error
	for i := 0; i < len(w.ends); {
		from := 0
		if i > 0 {
			from = w.ends[i-1]
		}
		j := i
		for j < len(w.ends) && w.envelope+w.ends[j]-from <= w.maxPacket {
			j++
		}
		// maxSpan guarantees that one span always fits.
		if err := ctx.Err(); err != nil {
			failed += len(w.ends) - i
			if firstErr == nil {
				firstErr = err
			}
			break
		}
		st := l.Stats()
		w.stats = jaeger.ClientStats{
			FullQueueDroppedSpans: int64(st.Dropped),
			TooLargeDroppedSpans:  int64(st.TooLarge),
			FailedToEmitSpans:     int64(st.Failed),
		}
		w.seq++
		w.seqNo++
		if err := w.datagram(ctx, w.seq, w.seqNo, all[from:w.ends[j-1]], j-i); err != nil {
			failed += j - i
			firstErr = firstOf(firstErr, err)
		} else if _, err := l.conn.Write(w.dg.Bytes()); err != nil {
			failed += j - i
			firstErr = firstOf(firstErr, err)
		} else {
			sent += j - i
			l.datagrams.Add(1)
		}
		i = j
	}
	if w.arena.Cap() > maxArena {
		// An unusually large batch (huge spans before truncation) does not pin its
		// memory for the life of the layer.
		w.arena = thrift.NewTMemoryBufferLen(w.maxPacket)
		w.ap = thrift.NewTCompactProtocol(w.arena)
	}
	// The pipeline counts the spans that went out as sent, the others (too large, or
	// in a datagram that failed) as failed.
	switch {
	case failed > 0:
		return pipeline.Partial(fmt.Errorf("jaeger: %d of %d spans not sent to %s: %w", failed+tooLarge, len(batch), l.addr, firstErr), sent)
	case tooLarge > 0:
		return pipeline.Partial(fmt.Errorf("jaeger: %d of %d spans too large for a %d-byte datagram", tooLarge, len(batch), w.maxPacket), sent)
	}
	return nil
}

// firstOf returns first, or err when there is no first error yet.
func firstOf(first, err error) error {
	if first == nil {
		return err
	}
	return first
}

// Shutdown stops the layer within ctx: it sends what is queued, stops the sending
// goroutine and closes the socket. Its error says what was lost.
func (l *Layer) Shutdown(ctx context.Context) error {
	err := l.Exporter.Shutdown(ctx)
	// When ctx ran out first, the pipeline's goroutine may still be in a write:
	// closing the socket ends it.
	l.closeOnce.Do(func() { l.closeErr = l.conn.Close() })
	if l.closeErr != nil && !errors.Is(l.closeErr, net.ErrClosed) {
		err = errors.Join(err, fmt.Errorf("jaeger: close: %w", l.closeErr))
	}
	return err
}

// Flush sends what is queued, within ctx; its error says what could not be sent.
func (l *Layer) Flush(ctx context.Context) error { return l.Exporter.Flush(ctx) }
