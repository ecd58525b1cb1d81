// Command songs is the service of the article Strata grew from, in miniature: an HTTP API
// that stores songs, asks a (simulated) vendor about each one, and enriches it in the
// background. One composition in main gives it correlated logfmt logs, contextual fields
// and Prometheus metrics derived from its spans.
//
// By default it starts on a loopback port, sends itself a few requests (one of them
// failing), prints the derived metrics it would serve on /metrics, and exits:
//
//	go run ./examples/songs
//
// To keep it running: go run ./examples/songs -serve 127.0.0.1:8080, then
//
//	curl -XPOST localhost:8080/songs -d '{"artist":"Nina Simone","title":"Sinnerman"}'
//	curl localhost:8080/metrics
//
// STRATA_LOG sets the log directives, for example STRATA_LOG=info,songs/vendor=debug.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func main() {
	serve := flag.String("serve", "", "address to serve on until interrupted (default: run a short demo and exit)")
	flag.Parse()
	if err := run(*serve, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "songs:", err)
		os.Exit(1)
	}
}

// run composes the layers, serves, and in demo mode (serveAddr "") sends the demo
// requests; logs and the demo's report go to out.
func run(serveAddr string, out io.Writer) error {
	directives, err := filter.FromEnv()
	if err != nil {
		return err
	}
	levels := filter.NewReloadable(directives)

	// Log lines go through a bounded queue: a slow terminal never blocks a request.
	logs := logfmt.NewAsyncWriter(out)
	met := metrics.New(metrics.WithProcessMetrics())
	d, err := subscriber.New(
		storage.New(), // first: the layers after it read its fields
		subscriber.WithFilter(logfmt.New(logs), levels),
		met,
	)
	if err != nil {
		return err
	}
	// Self-metrics: the log queue's health is scraped with the derived metrics.
	for name, fn := range map[string]func() float64{
		"strata_logfmt_lines_written": func() float64 { return float64(logs.Written()) },
		"strata_logfmt_lines_dropped": func() float64 { return float64(logs.Dropped()) },
	} {
		if err := met.RegisterGauge(name, fn); err != nil {
			return err
		}
	}
	subscriber.SetDefault(d)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "songs: shutdown:", err)
		}
		_ = logs.Close(ctx)
	}()

	mux := http.NewServeMux()
	app := newApp()
	mux.HandleFunc("POST /songs", app.createSong)
	mux.Handle("GET /metrics", met.Handler())

	addr := serveAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if serveAddr != "" {
		fmt.Fprintf(os.Stderr, "songs: serving on http://%s (POST /songs, GET /metrics)\n", ln.Addr())
		stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancel()
		<-stop.Done()
	} else if err := demo("http://"+ln.Addr().String(), logs); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return app.wait()
}

// demo sends a few songs, one of which the vendor rejects, then prints the derived
// metrics as a scraper would see them.
func demo(base string, out io.Writer) error {
	for _, body := range []string{
		`{"artist":"Nina Simone","title":"Sinnerman"}`,
		`{"artist":"Miles Davis","title":"So What"}`,
		`{"artist":"unknown","title":"Nothing"}`, // the vendor has never heard of it: 502
	} {
		resp, err := http.Post(base+"/songs", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The enrichment runs in the background; give it a moment before scraping.
	time.Sleep(100 * time.Millisecond)
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var report strings.Builder
	report.WriteString("# derived metrics and log self-metrics (GET /metrics, buckets left out):\n")
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if (strings.HasPrefix(line, "songs_") || strings.HasPrefix(line, "strata_logfmt_")) && !strings.Contains(line, "_bucket{") {
			report.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// Through the log writer, so the report follows the log lines instead of racing them.
	_, err = io.WriteString(out, report.String())
	return err
}
