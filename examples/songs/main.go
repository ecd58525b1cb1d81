// Command songs is the service of the article Strata grew from, in miniature: an HTTP API
// that stores songs, asks two vendors about each one over HTTP (Last.fm, slow, and CD
// Baby, which fails every second lookup and is optional), saves an event in
// record.save_event (an in-memory store), and enriches the song in the background
// (Tracer.Go: a span that follows from the request). One composition in main gives it
// correlated logfmt logs, contextual fields and Prometheus metrics derived from its
// spans; nethttp.Middleware makes each request an entry span and nethttp.Transport each
// vendor call an exit span.
//
// The vendors are fake services the program starts on 127.0.0.1 ports; -lastfm URL and
// -cdbaby URL (or SONGS_LASTFM_URL, SONGS_CDBABY_URL) point it at services elsewhere that
// answer GET /lookup?artist=...&title=... instead.
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
//
// With SW_AGENT_COLLECTOR_BACKEND_SERVICES set (host:11800 of an Apache SkyWalking OAP,
// or of anything that speaks its gRPC protocol), every request's spans also go to
// SkyWalking as a segment, from the entry span nethttp.Middleware starts (which carries
// on a caller's sw8 trace, with -serve too); the vendor calls send the trace on in sw8.
// The fake vendors then report too, as the services "lastfm" and "cdbaby" with
// SkyWalking layers of their own, so each vendor call is a segment of its own in the
// request's trace, joined to the request's exit span by a CrossProcess reference. The
// other SW_AGENT_* variables SkyWalking agents read apply (SW_AGENT_NAME defaults to
// "songs"), and the exporter's own health is on /metrics as strata_skywalking_*:
//
//	SW_AGENT_COLLECTOR_BACKEND_SERVICES=localhost:11800 go run ./examples/songs
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/layers/filter"
	"github.com/strata-go/strata/layers/jaeger"
	"github.com/strata-go/strata/layers/logfmt"
	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/otlp"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

func main() {
	serve := flag.String("serve", "", "address to serve on until interrupted (default: run a short demo and exit)")
	lastfm := flag.String("lastfm", os.Getenv("SONGS_LASTFM_URL"), "base URL of a Last.fm-like vendor speaking GET /lookup (default $SONGS_LASTFM_URL, else a fake one on 127.0.0.1)")
	cdbaby := flag.String("cdbaby", os.Getenv("SONGS_CDBABY_URL"), "base URL of a CD Baby-like vendor speaking GET /lookup (default $SONGS_CDBABY_URL, else a fake one on 127.0.0.1)")
	flag.Parse()
	if err := runWith(config{serve: *serve, lastfm: *lastfm, cdbaby: *cdbaby}, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "songs:", err)
		os.Exit(1)
	}
}

// config is what the command line sets.
type config struct {
	serve          string // address to serve on; "" runs the demo
	lastfm, cdbaby string // vendor base URLs; "" starts a fake one
	// ctx, when not nil, ends serving as an interrupt does (tests); ready, when not
	// nil, gets the address served on.
	ctx   context.Context
	ready func(addr string)
}

// run runs with the fake vendors.
func run(serveAddr string, out io.Writer) error { return runWith(config{serve: serveAddr}, out) }

// runWith composes the layers, starts the fake vendors it needs, serves, and in demo
// mode (serve "") sends the demo requests; logs and the demo's report go to out.
func runWith(cfg config, out io.Writer) error {
	serveAddr := cfg.serve
	directives, err := filter.FromEnv()
	if err != nil {
		return err
	}
	levels := filter.NewReloadable(directives)

	exporters, err := exportersFromEnv(os.Stderr)
	if err != nil {
		return err
	}
	// Log lines go through a bounded queue: a slow terminal never blocks a request.
	logs := logfmt.NewAsyncWriter(out)
	met := metrics.New(metrics.WithProcessMetrics())
	layers := []subscriber.Layer{
		storage.New(), // first: the layers after it read its fields
		subscriber.WithFilter(logfmt.New(logs, exporters.logfmt...), levels),
		met,
	}
	// Self-metrics: the log queue's health is scraped with the derived metrics.
	gauges := map[string]func() float64{
		"strata_logfmt_lines_written": func() float64 { return float64(logs.Written()) },
		"strata_logfmt_lines_dropped": func() float64 { return float64(logs.Dropped()) },
	}
	sw, err := skyWalkingFromEnv(met, len(exporters.layers) > 0)
	if err != nil {
		exporters.shutdownOnError()
		return err
	}
	if sw != nil {
		// Unfiltered: STRATA_LOG quiets the log, not the traces.
		layers = append(layers, sw)
		maps.Copy(gauges, sw.Gauges())
	}
	// OTLP, Jaeger and Datadog, as the environment asks: unfiltered too.
	layers = append(layers, exporters.layers...)
	maps.Copy(gauges, exporters.gauges)
	d, err := subscriber.New(layers...)
	if err != nil {
		exporters.shutdownOnError()
		return err
	}
	for name, fn := range gauges {
		if err := met.RegisterGauge(name, fn); err != nil {
			return err
		}
	}
	subscriber.SetDefault(d)
	defer func() {
		// Shutdown flushes the layers: the log queue, and the segments not yet sent to
		// SkyWalking, within the deadline (the error says what was lost).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "songs: shutdown:", err)
		}
		_ = logs.Close(ctx)
	}()

	// The vendors: fakes on loopback ports unless the command line names real ones.
	var vendors []*vendor
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, v := range vendors {
			if err := v.stop(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "songs: vendor %s: %v\n", v.name, err)
			}
		}
	}()
	for _, fake := range []struct {
		url    *string
		name   string
		behave vendorBehaviour
	}{
		{&cfg.lastfm, "lastfm", lastfmBehaviour},
		{&cfg.cdbaby, "cdbaby", cdbabyBehaviour},
	} {
		if *fake.url != "" {
			continue
		}
		v, err := startVendor(fake.name, fake.behave)
		if err != nil {
			return err
		}
		vendors = append(vendors, v)
		*fake.url = v.url
	}

	mux := http.NewServeMux()
	app := newAppWithVendors(cfg.lastfm, cfg.cdbaby)
	// The entry span (SkyWalking's endpoint "POST /songs") continues a caller's sw8
	// trace. Scrapes of /metrics are not traced.
	mux.Handle("POST /songs", nethttp.Middleware(http.HandlerFunc(app.createSong)))
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

	if cfg.ready != nil {
		cfg.ready(ln.Addr().String())
	}
	if serveAddr != "" {
		fmt.Fprintf(os.Stderr, "songs: serving on http://%s (POST /songs, GET /metrics)\n", ln.Addr())
		parent := cfg.ctx
		if parent == nil {
			parent = context.Background()
		}
		stop, cancel := signal.NotifyContext(parent, os.Interrupt)
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

// skyWalkingFromEnv returns the SkyWalking layer the SW_AGENT_* variables configure, or
// nil, after saying on stderr how to turn it on, when no collector is set. It reports
// traces, WARN and ERROR events as log records, the metrics met derives (every 20 s and
// at Shutdown) and the instance's properties and keep-alive, with the token of
// SW_AGENT_AUTHENTICATION on every call.
func skyWalkingFromEnv(met *metrics.Layer, othersExport bool) (*skywalking.Layer, error) {
	addr := os.Getenv(skywalking.EnvCollector)
	if addr == "" {
		if !othersExport {
			fmt.Fprintf(os.Stderr, "songs: traces are not exported; set %s=host:11800 to send them to Apache SkyWalking, %s=http://host:4317 for OTLP, %s=host for Jaeger, or %s=host for Datadog\n",
				skywalking.EnvCollector, otlp.EnvEndpoint, jaeger.EnvAgentHost, datadog.EnvAgentHost)
		}
		return nil, nil
	}
	opts := []skywalking.Option{skywalking.WithMeters(met, 0)}
	if _, ok := os.LookupEnv(skywalking.EnvService); !ok {
		opts = append(opts, skywalking.WithService("songs"))
	}
	sw, err := skywalking.FromEnv(opts...)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "songs: exporting traces, logs and meters to SkyWalking at %s\n", addr)
	return sw, nil
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
		if (strings.HasPrefix(line, "songs_") || strings.HasPrefix(line, "db_event_") || strings.HasPrefix(line, "strata_logfmt_")) && !strings.Contains(line, "_bucket{") {
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
