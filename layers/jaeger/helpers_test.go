package jaeger

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

// datagram is one emitBatch message the fake agent received.
type datagram struct {
	Size  int
	Name  string
	Type  thrift.TMessageType
	Batch *jaeger.Batch
	Err   error // the datagram did not decode
}

// fakeAgent is a UDP listener on 127.0.0.1 that decodes each datagram as the Jaeger
// agent does: a Thrift compact emitBatch message read with the generated agent types.
type fakeAgent struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []datagram
	done chan struct{}
}

func startAgent(t *testing.T) *fakeAgent {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(8 << 20)
	a := &fakeAgent{conn: conn, done: make(chan struct{})}
	go a.serve()
	t.Cleanup(func() {
		conn.Close()
		<-a.done
	})
	return a
}

func (a *fakeAgent) Addr() string { return a.conn.LocalAddr().String() }

func (a *fakeAgent) serve() {
	defer close(a.done)
	buf := make([]byte, 1<<17)
	for {
		n, _, err := a.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d := decodeDatagram(buf[:n])
		a.mu.Lock()
		a.got = append(a.got, d)
		a.mu.Unlock()
	}
}

func decodeDatagram(b []byte) datagram {
	d := datagram{Size: len(b)}
	mem := thrift.NewTMemoryBuffer()
	mem.Write(b)
	p := thrift.NewTCompactProtocol(mem)
	ctx := context.Background()
	name, typ, _, err := p.ReadMessageBegin(ctx)
	if err != nil {
		d.Err = err
		return d
	}
	d.Name, d.Type = name, typ
	args := agent.NewAgentEmitBatchArgs()
	if err := args.Read(ctx, p); err != nil {
		d.Err = err
		return d
	}
	if err := p.ReadMessageEnd(ctx); err != nil {
		d.Err = err
		return d
	}
	if mem.Len() != 0 {
		d.Err = errors.New("trailing bytes after the message")
	}
	d.Batch = args.Batch
	return d
}

func (a *fakeAgent) Datagrams() []datagram {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]datagram(nil), a.got...)
}

// Spans returns the spans received so far, in order.
func (a *fakeAgent) Spans() []*jaeger.Span {
	var out []*jaeger.Span
	for _, d := range a.Datagrams() {
		if d.Batch != nil {
			out = append(out, d.Batch.Spans...)
		}
	}
	return out
}

// WaitSpans waits until n spans arrived (or fails after a generous time) and returns
// them. The layer was flushed before: this only waits for the loopback delivery.
func (a *fakeAgent) WaitSpans(t *testing.T, n int) []*jaeger.Span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := a.Spans()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent received %d spans, want %d", len(s), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func findSpan(t *testing.T, spans []*jaeger.Span, name string) *jaeger.Span {
	t.Helper()
	for _, s := range spans {
		if s.OperationName == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d", name, len(spans))
	return nil
}

func tag(tags []*jaeger.Tag, key string) *jaeger.Tag {
	for _, t := range tags {
		if t.Key == key {
			return t
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for the logfmt layer's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var closeLine = regexp.MustCompile(`span_name="?([^" ]+)"? span=(\d+) .*span_event=close_span .*trace_id=([0-9a-f]{32})`)

// logfmtTraceIDs returns, by span name, the trace_id of each close_span line.
func logfmtTraceIDs(out string) map[string]string {
	m := map[string]string{}
	for _, line := range regexp.MustCompile("\n").Split(out, -1) {
		if g := closeLine.FindStringSubmatch(line); g != nil {
			m[g[1]] = g[3]
		}
	}
	return m
}

func shutdown(t *testing.T, l *Layer) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.Shutdown(ctx)
}

func quiet(string, ...any) {}
