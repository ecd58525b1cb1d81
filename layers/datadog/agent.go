package datadog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/internal/spanexport"
)

// TracerVersion is sent to the Agent as Datadog-Meta-Tracer-Version.
const TracerVersion = "strata-0.1"

// maxAnswer bounds how much of the Agent's answer is read.
const maxAnswer = 1 << 16

// body is a request body over the encoder's buffer that tells whether the transport is
// done with it, so that the buffer is reused only then.
type body struct {
	bytes.Reader
	closed atomic.Bool
}

func (b *body) Close() error { b.closed.Store(true); return nil }

// send is the pipeline's sender: one PUT /v0.4/traces per batch.
func (l *Layer) send(ctx context.Context, batch []*spanexport.Span) error {
	payload, traces := l.enc.encode(batch)
	rb := &body{}
	rb.Reset(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, l.endpoint, rb)
	if err != nil {
		return fmt.Errorf("datadog: %w", err)
	}
	req.ContentLength = int64(len(payload))
	for k, v := range l.headers {
		req.Header[k] = v // shared and never modified: the transport only reads them
	}
	req.Header["X-Datadog-Trace-Count"] = []string{strconv.Itoa(traces)}
	resp, err := l.client.Do(req)
	defer func() {
		if !rb.closed.Load() {
			l.enc.buf = nil // the transport may still read it: never reuse it
		}
	}()
	if err != nil {
		err = fmt.Errorf("datadog: PUT %s: %w", l.endpoint, err)
		if notSent(err) {
			return pipeline.Retry(err)
		}
		return err
	}
	answer := readAnswer(l.answer[:0], resp.Body)
	l.answer = answer
	if len(answer) == maxAnswer {
		l.limited = io.LimitedReader{R: resp.Body, N: maxAnswer}
		_, _ = io.Copy(io.Discard, &l.limited)
		l.limited.R = nil
	}
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		l.sampledOut.Add(l.enc.sampledOut)
		l.readRates(answer)
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		// The Agent refused the payload as a whole: nothing was kept, sending it again
		// duplicates nothing.
		return pipeline.Retry(fmt.Errorf("datadog: PUT %s: the agent answered %s", l.endpoint, resp.Status))
	default:
		l.rejected.Add(1)
		return fmt.Errorf("datadog: PUT %s: the agent refused %d spans: %s %q", l.endpoint, len(batch), resp.Status, truncate(answer, 200))
	}
}

// readAnswer appends to dst what r has, maxAnswer bytes at most.
func readAnswer(dst []byte, r io.Reader) []byte {
	for len(dst) < maxAnswer {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 512)
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), maxAnswer)])
		dst = dst[:len(dst)+n]
		if err != nil {
			break
		}
	}
	return dst
}

// agentHeaders are the headers of every request to the Agent but the trace count.
func agentHeaders() http.Header {
	return http.Header{
		"Content-Type":                  {"application/msgpack"},
		"Datadog-Meta-Lang":             {"go"},
		"Datadog-Meta-Lang-Version":     {strings.TrimPrefix(runtime.Version(), "go")},
		"Datadog-Meta-Lang-Interpreter": {runtime.Compiler + "-" + runtime.GOARCH + "-" + runtime.GOOS},
		"Datadog-Meta-Tracer-Version":   {TracerVersion},
	}
}

// copyBufferSize is the size of a connection's buffer for request bodies.
const copyBufferSize = 32 << 10

// bufConn is a connection to the Agent that copies request bodies through a buffer of
// its own: net/http hands the body to the connection's ReadFrom, which for a TCP or
// Unix socket would allocate a 32 KiB buffer for every request.
type bufConn struct {
	net.Conn
	w   connWriter
	buf []byte
}

// connWriter hides the connection's own ReadFrom from io.CopyBuffer.
type connWriter struct{ c net.Conn }

func (w *connWriter) Write(p []byte) (int, error) { return w.c.Write(p) }

func newBufConn(c net.Conn) *bufConn {
	return &bufConn{Conn: c, w: connWriter{c}}
}

// ReadFrom writes what r has to the connection.
func (c *bufConn) ReadFrom(r io.Reader) (int64, error) {
	if c.buf == nil {
		c.buf = make([]byte, copyBufferSize)
	}
	return io.CopyBuffer(&c.w, r, c.buf)
}

// notSent reports whether a request failed before anything reached the Agent: the
// connection could not be made.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// readRates keeps the sampling rate of the Agent's answer for this service and env
// ("service:<service>,env:<env>", else the default "service:,env:"). An answer like the
// last one decoded is not decoded again.
func (l *Layer) readRates(answer []byte) {
	if len(answer) == 0 || answer[0] != '{' {
		return // an older Agent answers "OK"
	}
	if !l.lastRates.valid || !bytes.Equal(answer, l.lastRates.answer) {
		var a struct {
			RateByService map[string]float64 `json:"rate_by_service"`
		}
		if err := json.Unmarshal(answer, &a); err != nil {
			l.lastRates.valid = false
			l.logLimit.Logf("rates", "datadog: the agent's sampling rates do not decode: %v", err)
			return
		}
		r, ok := a.RateByService["service:"+l.service+",env:"+l.env]
		if !ok {
			r, ok = a.RateByService["service:,env:"]
		}
		l.lastRates.rate, l.lastRates.ok = r, ok && !math.IsNaN(r)
		l.lastRates.answer = append(l.lastRates.answer[:0], answer...)
		l.lastRates.valid = true
	}
	if !l.lastRates.ok {
		return
	}
	l.rate.Store(math.Float64bits(min(max(l.lastRates.rate, 0), 1)))
	l.agentRates.Add(1)
}
