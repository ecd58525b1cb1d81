package logfmt_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/logfmt"
)

// The default timestamp is formatted without time.Format; it must agree with it for
// any time, in any zone, across leap years and centuries.
func TestDefaultTimestampMatchesTimeFormatInUTC(t *testing.T) {
	buf := &syncBuffer{}
	d := mustNew(t, logfmt.New(buf, logfmt.WithoutLocation()))
	h := d.SlogHandler("t")
	times := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 1000, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 2, 29, 1, 2, 3, 4000, time.UTC),
		time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), // (the zero time means "now" to the core)
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2022, 10, 30, 23, 30, 28, 798564000, time.FixedZone("CET", 3600)),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		sec := rng.Int64N(253402300800+62135596800) - 62135596800 // years 1..9999
		times = append(times, time.Unix(sec, rng.Int64N(1e9)).In(time.FixedZone("X", rng.IntN(50000)-25000)))
	}
	for _, tm := range times {
		h.Handle(context.Background(), slog.NewRecord(tm, slog.LevelInfo, "m", 0))
	}
	lines := decode(t, buf.Bytes())
	if len(lines) != len(times) {
		t.Fatalf("%d lines for %d times", len(lines), len(times))
	}
	for i, tm := range times {
		want := tm.UTC().Format("2006-01-02T15:04:05.000000Z")
		if got := lines[i].must(t, "timestamp"); got != want {
			t.Errorf("time %v: timestamp=%s, want %s", tm, got, want)
		}
	}
}
