package nethttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter notes the status and the body size a handler writes. It implements
// http.Flusher (and FlushError), io.ReaderFrom (so *http.response's sendfile path
// stays) and Unwrap, which http.ResponseController follows for everything else
// (deadlines, full duplex). hijackWriter adds http.Hijacker, used only when the
// wrapped writer is one: a wrapper that claimed Hijacker over an HTTP/2 stream would
// mislead code that type-asserts.
type responseWriter struct {
	w           http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
	hijacked    bool
}

// wrap returns the recording writer and the http.ResponseWriter to hand the handler.
func wrap(w http.ResponseWriter) (*responseWriter, http.ResponseWriter) {
	rw := &responseWriter{w: w}
	if _, ok := w.(http.Hijacker); ok {
		return rw, &hijackWriter{rw}
	}
	return rw, rw
}

// Header returns the wrapped writer's header map.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader notes the final status; informational ones (1xx but 101) may precede it.
func (rw *responseWriter) WriteHeader(code int) {
	if !rw.wroteHeader && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		rw.status = code
		rw.wroteHeader = true
	}
	rw.w.WriteHeader(code)
}

func (rw *responseWriter) implicitHeader() {
	if !rw.wroteHeader {
		rw.status = http.StatusOK
		rw.wroteHeader = true
	}
}

// Write writes to the wrapped writer and counts the bytes.
func (rw *responseWriter) Write(b []byte) (int, error) {
	rw.implicitHeader()
	n, err := rw.w.Write(b)
	rw.written += int64(n)
	return n, err
}

// ReadFrom copies src through the wrapped writer's ReadFrom when it has one.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	rw.implicitHeader()
	var n int64
	var err error
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.w}, src)
	}
	rw.written += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy does not call ReadFrom again.
type writerOnly struct{ io.Writer }

// Flush flushes the wrapped writer, if it can.
func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// FlushError flushes the wrapped writer and returns its error; http.ResponseController
// prefers it to Flush.
func (rw *responseWriter) FlushError() error {
	rw.implicitHeader()
	if f, ok := rw.w.(http.Flusher); ok {
		if fe, ok := rw.w.(interface{ FlushError() error }); ok {
			return fe.FlushError()
		}
		f.Flush()
		return nil
	}
	return http.NewResponseController(rw.w).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// hijackWriter is responseWriter over a writer that can be hijacked.
type hijackWriter struct{ *responseWriter }

// Hijack hands the connection over; the span then records no response size.
func (hw *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := hw.w.(http.Hijacker).Hijack()
	if err == nil {
		hw.hijacked = true
	}
	return c, b, err
}
