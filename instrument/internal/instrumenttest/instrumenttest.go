// Package instrumenttest holds what the instrument packages' tests share: a propagator
// with a made-up header, so they do not depend on a real propagation format, and a
// goroutine-leak check for TestMain.
package instrumenttest

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// Header is the made-up header Propagator carries a trace in: "<trace id>/<span id>"
// (the span id in decimal).
const Header = "X-Test-Trace"

// Propagator is a layer that only propagates, in Header.
type Propagator struct{}

// RemoteSpan is the RemoteParent.Data that Propagator extracts: the caller's span id.
type RemoteSpan struct{ ID registry.SpanID }

// Extract reads Header; a malformed value is no remote parent.
func (Propagator) Extract(c subscriber.Carrier) (*subscriber.RemoteParent, bool) {
	trace, span, ok := strings.Cut(c.Get(Header), "/")
	if !ok || len(trace) != 32 {
		return nil, false
	}
	id, err := strconv.ParseUint(span, 10, 64)
	if err != nil || id == 0 {
		return nil, false
	}
	tid := registry.ParseTraceID(trace)
	if tid.IsRaw() {
		return nil, false
	}
	return &subscriber.RemoteParent{TraceID: tid, Sampled: true, Propagator: "test", Data: RemoteSpan{registry.SpanID(id)}}, true
}

// Inject writes Header for span.
func (Propagator) Inject(span subscriber.SpanRef, c subscriber.Carrier) {
	c.Set(Header, span.TraceID().String()+"/"+strconv.FormatUint(uint64(span.ID()), 10))
}

// MainWithLeakCheck runs the tests and fails the run when goroutines outlive them: every
// server, client connection and stream the tests start must be stopped by them, and the
// package's own code starts none that outlive a call.
func MainWithLeakCheck(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			fmt.Fprintf(os.Stderr, "%d goroutines leaked (%d before the tests):\n%s\n", n-before, before,
				strings.TrimSpace(stacks))
			code = 1
		}
	}
	os.Exit(code)
}
