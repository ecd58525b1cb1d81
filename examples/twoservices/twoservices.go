// Package twoservices is the code of a two-process example: front (cmd front) serves
// GET /hello and calls back (cmd back) on GET /work over HTTP. Each process composes its
// own dispatch: storage, logfmt on stderr, and, when SW_AGENT_COLLECTOR_BACKEND_SERVICES
// is set, the SkyWalking layer. nethttp.Transport sends the trace from front in an sw8
// header and nethttp.Middleware in back continues it, so SkyWalking shows one trace
// across both services, back's segment joined to front's exit span by a CrossProcess
// reference. See README.md for the commands.
//
// Each service uses its own dispatch (never the default one), so both can also run in
// one process, which is how the test runs them.
package twoservices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// newDispatch composes a service's layers: storage, logfmt lines to out (filtered by
// STRATA_LOG), and SkyWalking when a collector is set (under the service name unless
// SW_AGENT_NAME names another).
func newDispatch(service string, out io.Writer) (*subscriber.Dispatch, error) {
	directives, err := filter.FromEnv()
	if err != nil {
		return nil, err
	}
	layers := []subscriber.Layer{
		storage.New(),
		subscriber.WithFilter(logfmt.New(out), directives),
	}
	if addr := os.Getenv(skywalking.EnvCollector); addr != "" {
		var opts []skywalking.Option
		if _, ok := os.LookupEnv(skywalking.EnvService); !ok {
			opts = append(opts, skywalking.WithService(service))
		}
		sw, err := skywalking.FromEnv(opts...)
		if err != nil {
			return nil, err
		}
		layers = append(layers, sw)
		fmt.Fprintf(os.Stderr, "%s: exporting to SkyWalking at %s\n", service, addr)
	} else {
		fmt.Fprintf(os.Stderr, "%s: not exporting; set %s=host:11800 to send traces to Apache SkyWalking\n", service, skywalking.EnvCollector)
	}
	return subscriber.New(layers...)
}

// serve serves h on addr until ctx is done, then shuts the server down and flushes d.
// ready, if not nil, gets the address it listens on.
func serve(ctx context.Context, d *subscriber.Dispatch, addr string, h http.Handler, ready func(string)) (err error) {
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, d.Shutdown(sctx))
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: nethttp.Middleware(h, nethttp.WithDispatch(d)), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// RunBack runs the back service on addr until ctx is done: GET /work answers after a
// little work in a span of its own.
func RunBack(ctx context.Context, addr string, logs io.Writer, ready func(string)) error {
	d, err := newDispatch("back", logs)
	if err != nil {
		return err
	}
	tr := d.Tracer("twoservices/back")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		_ = tr.Do(r.Context(), "compute", func(ctx context.Context) error {
			time.Sleep(5 * time.Millisecond)
			tr.Info(ctx, "work done", slog.String("who", r.URL.Query().Get("who")))
			return nil
		})
		fmt.Fprintln(w, "work done")
	})
	return serve(ctx, d, addr, mux, ready)
}

// RunFront runs the front service on addr until ctx is done: GET /hello calls back at
// backURL (GET /work) through nethttp.Transport, which sends the trace in sw8.
func RunFront(ctx context.Context, addr, backURL string, logs io.Writer, ready func(string)) error {
	d, err := newDispatch("front", logs)
	if err != nil {
		return err
	}
	tr := d.Tracer("twoservices/front")
	client := &http.Client{
		Transport: nethttp.Transport(http.DefaultTransport, nethttp.WithDispatch(d)),
		Timeout:   5 * time.Second,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, backURL+"/work?who=front", nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			tr.Error(r.Context(), "back failed", slog.Any("error", err))
			http.Error(w, "back unavailable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		tr.Info(r.Context(), "back answered", slog.Int("status", resp.StatusCode))
		fmt.Fprintf(w, "hello; back says: %s", body)
	})
	return serve(ctx, d, addr, mux, ready)
}
