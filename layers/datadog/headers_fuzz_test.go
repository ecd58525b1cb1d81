package datadog_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/datadog"
	"github.com/strata-go/strata/subscriber"
)

// FuzzExtract checks that Extract never panics, that what it accepts has non-zero ids
// that agree with strconv on the decimal headers, and that a refusal is counted.
func FuzzExtract(f *testing.F) {
	f.Add("1311768467463790320", "42", "2", "synthetics", "_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000")
	f.Add("5", "1", "", "", "")
	f.Add("0", "1", "", "", "")
	f.Add("5", "1", "x", "", "_dd.p.tid=zz")
	f.Add("18446744073709551615", "18446744073709551615", "-1", "", "a=b,,c=d")
	f.Add("5", "1", "1", "", "_dd.p.tid=640cfd8d00000000,_dd.p.tid=0000000000000001")
	f.Fuzz(func(t *testing.T, tid, pid, prio, origin, tags string) {
		p := datadog.Propagator()
		c := subscriber.MapCarrier{}
		for k, v := range map[string]string{"x-datadog-trace-id": tid, "x-datadog-parent-id": pid,
			"x-datadog-sampling-priority": prio, "x-datadog-origin": origin, "x-datadog-tags": tags} {
			if v != "" {
				c[k] = v
			}
		}
		rp, ok := p.Extract(c)
		if !ok {
			if rp != nil {
				t.Fatalf("Extract(%v) refused with a parent %+v", c, rp)
			}
			if want := uint64(0); tid != "" {
				want = 1
				if p.MalformedHeaders() != want {
					t.Fatalf("Extract(%v) refused, MalformedHeaders %d, want 1", c, p.MalformedHeaders())
				}
			}
			return
		}
		lo, err1 := strconv.ParseUint(tid, 10, 64)
		par, err2 := strconv.ParseUint(pid, 10, 64)
		if err1 != nil || err2 != nil || lo == 0 || par == 0 || rp.SpanID != par || len(tags) > 512 {
			t.Fatalf("Extract(%v) accepted %+v", c, rp)
		}
		r := rp.Data.(*datadog.Remote)
		if r.TraceIDLow != lo || !strings.HasSuffix(rp.TraceID.String(), strconv.FormatUint(lo+0, 16)) {
			t.Fatalf("Extract(%v): trace id %s, low %d, want low %d", c, rp.TraceID, r.TraceIDLow, lo)
		}
		if rp.Sampled != (!r.HasPriority || r.Priority > 0) {
			t.Fatalf("Extract(%v): sampled %v with priority %d", c, rp.Sampled, r.Priority)
		}
		// What it accepted goes out again and comes back the same.
		again, ok := p.Extract(subscriber.MapCarrier{"x-datadog-trace-id": tid, "x-datadog-parent-id": pid,
			"x-datadog-sampling-priority": prio, "x-datadog-origin": r.Origin, "x-datadog-tags": r.Tags})
		if !ok || again.TraceID.String()[16:] != rp.TraceID.String()[16:] {
			t.Fatalf("Extract(%v) accepted, but not its own tags %q: %v", c, r.Tags, ok)
		}
	})
}
