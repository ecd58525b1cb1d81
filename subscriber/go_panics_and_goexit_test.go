package subscriber_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

// errRecorder remembers the error each span closed with.
type errRecorder struct{ closed chan string }

func (r *errRecorder) OnClose(s subscriber.SpanRef) {
	msg := "<nil>"
	if err := s.Err(); err != nil {
		msg = err.Error()
	}
	r.closed <- s.Name() + ": " + msg
}

// A function run by Go that calls runtime.Goexit (t.FailNow does) must not leave its span
// open forever, and Wait must not report success.
func TestGoEndsTheSpanAndFailsWaitWhenTheFunctionCallsGoexit(t *testing.T) {
	rec := &errRecorder{closed: make(chan string, 1)}
	d := subscriber.MustNew(rec)
	task := d.Tracer("test").Go(context.Background(), "exits", func(context.Context) error {
		runtimeGoexit() // what t.FailNow does

		return nil
	})
	err := task.Wait()
	if !errors.Is(err, subscriber.ErrTaskExited) {
		t.Fatalf("Wait() = %v, want ErrTaskExited", err)
	}
	if got := <-rec.closed; !strings.HasPrefix(got, "exits: ") || strings.HasSuffix(got, "<nil>") {
		t.Fatalf("span closed as %q, want it failed", got)
	}
	if n := d.Registry().Live(); n != 0 {
		t.Fatalf("Live() = %d after the task, want 0: the span's record leaked", n)
	}
}

// A panic in Go's function is recorded on the span, the span ends, and the panic goes on
// as in a plain goroutine: the program crashes with the panic and fn's frames. The crash
// happens in a child process.
func TestGoRecordsAPanicOnTheSpanAndLetsItCrashTheProgram(t *testing.T) {
	if os.Getenv("STRATA_GO_PANIC_CHILD") == "1" {
		d := subscriber.MustNew(&closeProbe{fn: func(s subscriber.SpanRef) {
			fmt.Fprintf(os.Stderr, "span %s closed with: %v\n", s.Name(), s.Err())
		}})
		task := d.Tracer("test").Go(context.Background(), "bad", func(context.Context) error { panicInTask(); return nil })
		_ = task.Wait()
		fmt.Fprintln(os.Stderr, "Wait returned: the panic was swallowed")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGoRecordsAPanicOnTheSpanAndLetsItCrashTheProgram$")
	cmd.Env = append(os.Environ(), "STRATA_GO_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("the child exited with %v, want a crash; output:\n%s", err, out)
	}
	for _, want := range []string{"span bad closed with: panic: oops", "panic: oops", "panicInTask", "go_panics_and_goexit_test.go"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("crash output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Wait returned") {
		t.Errorf("Wait returned after the panic:\n%s", out)
	}
}

func panicInTask() { panic("oops") }

func runtimeGoexit() { runtime.Goexit() }
