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
	req.Header.Set("Content-Type", "application/msgpack")
	req.Header.Set("X-Datadog-Trace-Count", strconv.Itoa(traces))
	req.Header.Set("Datadog-Meta-Lang", "go")
	req.Header.Set("Datadog-Meta-Lang-Version", strings.TrimPrefix(runtime.Version(), "go"))
	req.Header.Set("Datadog-Meta-Lang-Interpreter", runtime.Compiler+"-"+runtime.GOARCH+"-"+runtime.GOOS)
	req.Header.Set("Datadog-Meta-Tracer-Version", TracerVersion)
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
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
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
// ("service:<service>,env:<env>", else the default "service:,env:").
func (l *Layer) readRates(answer []byte) {
	if len(answer) == 0 || answer[0] != '{' {
		return // an older Agent answers "OK"
	}
	var a struct {
		RateByService map[string]float64 `json:"rate_by_service"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		l.logLimit.Logf("rates", "datadog: the agent's sampling rates do not decode: %v", err)
		return
	}
	if a.RateByService == nil {
		return
	}
	r, ok := a.RateByService["service:"+l.service+",env:"+l.env]
	if !ok {
		r, ok = a.RateByService["service:,env:"]
	}
	if !ok || math.IsNaN(r) {
		return
	}
	r = min(max(r, 0), 1)
	l.rate.Store(math.Float64bits(r))
	l.agentRates.Add(1)
}
