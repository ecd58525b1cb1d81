package grpctrace

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/strata-go/strata/subscriber"
)

// splitMethod splits "/pkg.Service/Method" into "pkg.Service" and "Method".
func splitMethod(full string) (service, method string) {
	s := strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// methodFields returns the fields every span of a call has.
func methodFields(dst []slog.Attr, kind, fullMethod string) []slog.Attr {
	service, method := splitMethod(fullMethod)
	return append(dst,
		slog.String("otel.kind", kind),
		slog.String("rpc.system", "grpc"),
		slog.String("rpc.service", service),
		slog.String("rpc.method", method),
	)
}

// end records the call's status and ends the span with err, the call's error.
func end(span subscriber.Span, err error) {
	code := "OK"
	if err != nil {
		code = "ERROR"
	}
	span.Record(slog.Int("rpc.grpc.status_code", int(status.Code(err))), slog.String("otel.status_code", code))
	span.EndErr(err)
}

// endIfPanicked, deferred, ends the span of a call whose function did not return: it
// panicked (the panic goes on once the span has ended) or called runtime.Goexit.
func endIfPanicked(span subscriber.Span, returned *bool) {
	if *returned {
		return
	}
	p := recover()
	err := errGoexit
	if p != nil {
		err = fmt.Errorf("panic: %v", p)
	}
	span.Record(slog.String("otel.status_code", "ERROR"))
	span.EndErr(err)
	if p != nil {
		panic(p)
	}
}

var errGoexit = errors.New("goroutine exited inside the call (runtime.Goexit)")
