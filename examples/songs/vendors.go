package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// The fake vendors stand in for the article's Last.fm and CD Baby APIs. They are
// separate services that happen to live in this process: each listens on its own
// 127.0.0.1 port, is called over real HTTP, and, with a SkyWalking collector set, has a
// dispatch of its own whose SkyWalking layer reports under the vendor's service name.
// Their spans are then separate segments of the songs request's traces, joined to the
// request's exit spans by the sw8 header the client transport sends. Both speak one tiny
// API, GET /lookup?artist=...&title=... answering 200 with a JSON object or an error
// status; -lastfm and -cdbaby (or SONGS_LASTFM_URL and SONGS_CDBABY_URL) point the
// program at services elsewhere that speak it instead.

// vendor is a running fake vendor service.
type vendor struct {
	name string
	url  string
	srv  *http.Server
	done chan error
	// d is the vendor's own dispatch (nil without a collector: then it is not traced).
	d *subscriber.Dispatch
}

// vendorBehaviour is how a fake vendor answers a lookup: a status and a delay.
type vendorBehaviour func(artist string, n int64) (status int, delay time.Duration)

// lastfmBehaviour is slow, and has never heard of the artist "unknown".
func lastfmBehaviour(artist string, _ int64) (int, time.Duration) {
	if artist == "unknown" {
		return http.StatusNotFound, 5 * time.Millisecond
	}
	return http.StatusOK, 30 * time.Millisecond
}

// cdbabyBehaviour is quick but fails now and then: every second lookup it serves is a
// 503, which makes the demo deterministic (its second song gets no CD Baby data).
func cdbabyBehaviour(_ string, n int64) (int, time.Duration) {
	if n%2 == 0 {
		return http.StatusServiceUnavailable, time.Millisecond
	}
	return http.StatusOK, 2 * time.Millisecond
}

// startVendor starts a fake vendor on a loopback port. With a collector set
// (SW_AGENT_COLLECTOR_BACKEND_SERVICES), its requests are traced by a dispatch of its
// own, with a SkyWalking layer for the service name.
func startVendor(name string, behave vendorBehaviour) (*vendor, error) {
	v := &vendor{name: name, done: make(chan error, 1)}
	var served atomic.Int64
	tr := subscriber.NewTracer("vendor/" + name) // replaced by the vendor's own below
	if os.Getenv(skywalking.EnvCollector) != "" {
		sw, err := skywalking.FromEnv(skywalking.WithService(name))
		if err != nil {
			return nil, fmt.Errorf("vendor %s: %w", name, err)
		}
		d, err := subscriber.New(storage.New(), sw)
		if err != nil {
			return nil, fmt.Errorf("vendor %s: %w", name, err)
		}
		v.d = d
		tr = d.Tracer("vendor/" + name)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		artist := r.URL.Query().Get("artist")
		status, delay := behave(artist, served.Add(1))
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		if status != http.StatusOK {
			if v.d != nil {
				tr.Warn(r.Context(), "lookup failed", slog.String("vendor", name),
					slog.String("artist", artist), slog.Int("http.status_code", status))
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"vendor": name, "artist": artist, "title": r.URL.Query().Get("title"),
		})
	})
	mux := http.NewServeMux()
	mux.Handle("GET /lookup", h)
	var root http.Handler = mux
	if v.d != nil {
		// The vendor's entry span continues the trace the songs service sent in sw8.
		root = nethttp.Middleware(mux, nethttp.WithDispatch(v.d))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if v.d != nil {
			_ = v.d.Shutdown(context.Background())
		}
		return nil, err
	}
	v.url = "http://" + ln.Addr().String()
	v.srv = &http.Server{Handler: root, ReadHeaderTimeout: 5 * time.Second}
	go func() { v.done <- v.srv.Serve(ln) }()
	return v, nil
}

// stop stops the vendor's server, then flushes its dispatch within ctx.
func (v *vendor) stop(ctx context.Context) error {
	err := v.srv.Shutdown(ctx)
	if e := <-v.done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if v.d != nil {
		if e := v.d.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	return err
}
