package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/strata-go/strata/instrument/nethttp"
	"github.com/strata-go/strata/subscriber"
)

// One tracer per package area: its target is what STRATA_LOG directives match.
var (
	httpTr   = subscriber.NewTracer("songs/http")
	vendorTr = subscriber.NewTracer("songs/vendor")
	dbTr     = subscriber.NewTracer("songs/db")
)

type song struct {
	Artist string `json:"artist"`
	Title  string `json:"title"`
}

// maxStored bounds the in-memory store: a server that runs for days keeps the newest
// events only.
const maxStored = 1024

type app struct {
	// client calls the vendors through nethttp.Transport: each call is an Exit span
	// (otel.kind=client, peer) that sends the trace on in sw8.
	client *http.Client
	lastfm string // base URLs of the vendors
	cdbaby string
	mu     sync.Mutex
	// events is the database of the article's record.save_event: an in-memory store
	// here (a ring of the newest maxStored events), so the demo needs no database.
	events []song
	next   int
	// running holds the background tasks not yet known to be finished: finished ones
	// are dropped as new ones start, so a long-running server keeps only the live ones.
	running map[*subscriber.Task]struct{}
	// failures counts finished tasks that failed; their errors are on their spans and
	// in the log already. firstErr is the first, for wait's answer.
	failures int
	firstErr error
}

func newApp() *app { return newAppWithVendors("", "") }

func newAppWithVendors(lastfm, cdbaby string) *app {
	// Exit spans are named after the vendor ("GET lastfm /lookup"), not its host:port,
	// which for the fakes changes every run.
	names := map[string]string{hostOf(lastfm): "lastfm", hostOf(cdbaby): "cdbaby"}
	spanName := func(r *http.Request, _ string) string {
		name, ok := names[r.URL.Host]
		if !ok {
			name = r.URL.Host
		}
		return r.Method + " " + name + " " + r.URL.Path
	}
	return &app{
		client: &http.Client{
			Transport: nethttp.Transport(http.DefaultTransport, nethttp.WithSpanName(spanName)),
			Timeout:   5 * time.Second,
		},
		lastfm:  lastfm,
		cdbaby:  cdbaby,
		running: make(map[*subscriber.Task]struct{}),
	}
}

// track keeps a new background task, and forgets those that finished.
func (a *app) track(task *subscriber.Task) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.running {
		select {
		case <-t.Done():
			a.finished(t)
		default:
		}
	}
	a.running[task] = struct{}{}
}

// finished records a finished task's outcome; the caller holds a.mu.
func (a *app) finished(t *subscriber.Task) {
	delete(a.running, t)
	if err := t.Wait(); err != nil {
		a.failures++
		if a.firstErr == nil {
			a.firstErr = err
		}
	}
}

// createSong handles POST /songs: the article's request, with a vendor call, a database
// insert and background enrichment.
func (a *app) createSong(w http.ResponseWriter, r *http.Request) {
	ctx, span := httpTr.Start(r.Context(), "HTTP request",
		slog.String("http.method", r.Method),
		slog.String("http.route", "/songs"),
		slog.String("metric_name", "songs_http_request"),
		slog.String("metric_label_route", "/songs"))
	status, err := a.handle(ctx, r)
	span.Record(slog.Int("http.status_code", status))
	w.WriteHeader(status)
	span.EndErr(err)
}

func (a *app) handle(ctx context.Context, r *http.Request) (int, error) {
	var s song
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		httpTr.Warn(ctx, "bad request body", slog.Any("error", err))
		return http.StatusBadRequest, nil
	}
	if err := vendorTr.Do(ctx, "vendor.lastfm.task", func(ctx context.Context) error {
		err := a.lookup(ctx, a.lastfm, s)
		if err != nil {
			vendorTr.Error(ctx, "vendor request failed", slog.String("error.message", err.Error()))
		}
		return err
	}, slog.String("subject", "vendor.lastfm"),
		slog.String("metric_name", "songs_vendor_call"),
		slog.String("metric_label_vendor", "lastfm")); err != nil {
		return http.StatusBadGateway, err
	}
	// CD Baby is optional: when it fails, the song is stored without its data.
	if err := vendorTr.Do(ctx, "vendor.cdbaby.task", func(ctx context.Context) error {
		err := a.lookup(ctx, a.cdbaby, s)
		if err != nil {
			vendorTr.Warn(ctx, "CD Baby unavailable, storing the song without it", slog.String("error.message", err.Error()))
		}
		return err
	}, slog.String("subject", "vendor.cdbaby"),
		slog.String("metric_name", "songs_vendor_call"),
		slog.String("metric_label_vendor", "cdbaby")); err != nil {
		_ = err // on the span and in the log already
	}
	if err := dbTr.Do(ctx, "record.save_event", func(ctx context.Context) error {
		a.save(s)
		dbTr.Debug(ctx, "song stored", slog.String("artist", s.Artist))
		return nil
	}, slog.String("otel.kind", "client"),
		slog.String("db.system", "memory"), // an in-memory store (see app.events)
		slog.String("peer", "memory"),
		slog.String("metric_name", "db_event"),
		slog.String("metric_label_event_table", "songs"),
		slog.String("metric_label_event_type", "song_created")); err != nil {
		return http.StatusInternalServerError, err
	}
	// The article's asynchronous processing: the request does not wait for it.
	task := httpTr.Go(ctx, "song.enrich", func(ctx context.Context) error {
		time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
		httpTr.Info(ctx, "song enriched", slog.String("title", s.Title))
		return nil
	}, slog.String("subject", "song.enrich"))
	a.track(task)
	return http.StatusCreated, nil
}

// hostOf returns the host[:port] of a base URL, or "" when it has none.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Host
}

// save keeps s in the in-memory store, over the oldest event once it is full.
func (a *app) save(s song) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.events) < maxStored {
		a.events = append(a.events, s)
		return
	}
	a.events[a.next] = s
	a.next = (a.next + 1) % maxStored
}

// lookup asks the vendor at base about s over HTTP; a status other than 200 is an error.
func (a *app) lookup(ctx context.Context, base string, s song) error {
	q := url.Values{"artist": {s.Artist}, "title": {s.Title}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/lookup?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("lookup %q: vendor answered %s", s.Title, resp.Status)
	}
	vendorTr.Info(ctx, "finished processing vendor request",
		slog.String("subject", "vendor.response"), slog.Int("vendor.status", resp.StatusCode))
	return nil
}

// wait waits for the background work the requests started, and returns the first
// error of a failed task (with how many failed), or nil.
func (a *app) wait() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t := range a.running {
		a.finished(t)
	}
	if a.failures > 0 {
		return fmt.Errorf("%d background tasks failed, the first with: %w", a.failures, a.firstErr)
	}
	return nil
}

// pending returns how many background tasks the app still holds.
func (a *app) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running)
}
