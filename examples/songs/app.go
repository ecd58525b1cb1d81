package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

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

type app struct {
	mu    sync.Mutex
	songs []song
	// running holds the background tasks not yet known to be finished: finished ones
	// are dropped as new ones start, so a long-running server keeps only the live ones.
	running map[*subscriber.Task]struct{}
	// failures counts finished tasks that failed; their errors are on their spans and
	// in the log already. firstErr is the first, for wait's answer.
	failures int
	firstErr error
}

func newApp() *app { return &app{running: make(map[*subscriber.Task]struct{})} }

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
		return lookupVendor(ctx, s)
	}, slog.String("subject", "vendor.lastfm"),
		slog.String("metric_name", "songs_vendor_call"),
		slog.String("metric_label_vendor", "lastfm")); err != nil {
		return http.StatusBadGateway, err
	}
	if err := dbTr.Do(ctx, "db.insert", func(ctx context.Context) error {
		a.mu.Lock()
		a.songs = append(a.songs, s)
		a.mu.Unlock()
		dbTr.Debug(ctx, "song stored", slog.String("artist", s.Artist))
		return nil
	}, slog.String("db.system", "memory"),
		slog.String("metric_name", "songs_db_event"),
		slog.String("metric_label_db_op", "insert")); err != nil {
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

var errUnknownArtist = errors.New("vendor: unknown artist")

// lookupVendor stands in for the article's Last.fm call.
func lookupVendor(ctx context.Context, s song) error {
	time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond)
	if s.Artist == "unknown" {
		vendorTr.Error(ctx, "vendor request failed",
			slog.Int("vendor.status", 404), slog.String("error.message", errUnknownArtist.Error()))
		return fmt.Errorf("lookup %q: %w", s.Title, errUnknownArtist)
	}
	vendorTr.Info(ctx, "finished processing vendor request",
		slog.String("subject", "vendor.response"), slog.Int("vendor.status", 200))
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
