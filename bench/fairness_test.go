package bench

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/go-logfmt/logfmt"
)

// The logfmt event benchmark compares like with like only if Strata and zerolog write
// the same fields: the event's 5, the span's 5 inherited ones, a message and a timestamp.
func TestLogfmtEventPeersWriteTheSameFields(t *testing.T) {
	var sb bytes.Buffer
	tr, ctx := strataEventCtx(t, &sb)
	strataEvent(tr, ctx)
	strataKeys := map[string]string{}
	dec := logfmt.NewDecoder(strings.NewReader(sb.String()))
	for dec.ScanRecord() {
		for dec.ScanKeyval() {
			strataKeys[string(dec.Key())] = string(dec.Value())
		}
	}
	if err := dec.Err(); err != nil {
		t.Fatalf("strata line does not decode: %v\n%s", err, sb.String())
	}

	var zb bytes.Buffer
	zl := zerologEventLogger(&zb)
	zerologEvent(&zl)
	zeroKeys := map[string]any{}
	if err := json.Unmarshal(zb.Bytes(), &zeroKeys); err != nil {
		t.Fatalf("zerolog line does not decode: %v", err)
	}

	want := []string{"vendor.status", "vendor", "cache", "bytes", "elapsed_ms",
		"http.method", "http.route", "user_id", "subject", "attempt"}
	for _, k := range want {
		if _, ok := strataKeys[k]; !ok {
			t.Errorf("strata line lacks %q: %s", k, sb.String())
		}
		if _, ok := zeroKeys[k]; !ok {
			t.Errorf("zerolog line lacks %q: %s", k, zb.String())
		}
	}
	if strataKeys["msg"] != lfMsg || zeroKeys["message"] != lfMsg {
		t.Errorf("messages differ: strata %q, zerolog %v", strataKeys["msg"], zeroKeys["message"])
	}
	if strataKeys["timestamp"] == "" || zeroKeys["time"] == nil {
		t.Error("one of the lines has no timestamp")
	}
	// Strata writes more (span, trace_id, target): the comparison is not tilted its way.
	extra := []string{"span", "trace_id", "target"}
	for _, k := range extra {
		if _, ok := strataKeys[k]; !ok {
			t.Errorf("strata line lacks its correlation key %q", k)
		}
	}
	if n := len(strataKeys); n < len(want)+len(extra)+3 || slices.Contains(want, "") {
		t.Errorf("strata line has %d keys, want at least %d", n, len(want)+len(extra)+3)
	}
}
