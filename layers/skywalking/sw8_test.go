package skywalking

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The codec writes what SkyWalking's agents write (standard padded base64, 8 fields)
// and reads it back.
func TestSW8Wire(t *testing.T) {
	h := SW8{Sampled: true, TraceID: "a1.2.3", ParentSegmentID: "seg", ParentSpanID: 12, ParentService: "gateway",
		ParentInstance: "gw-1", ParentEndpoint: "/api/songs?q=é", AddressUsedAtClient: "songs:8080"}
	b := base64.StdEncoding.EncodeToString
	want := strings.Join([]string{"1", b([]byte("a1.2.3")), b([]byte("seg")), "12", b([]byte("gateway")), b([]byte("gw-1")),
		b([]byte("/api/songs?q=é")), b([]byte("songs:8080"))}, "-")
	if got := h.Encode(); got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got := string(AppendSW8([]byte("x"), h)); got != "x"+want {
		t.Errorf("AppendSW8 = %q", got)
	}
	back, err := DecodeSW8(want)
	if err != nil || back != h {
		t.Errorf("DecodeSW8 = %+v, %v; want %+v", back, err, h)
	}
	// Unpadded base64, as some agents write it, is read too.
	unpadded := strings.ReplaceAll(want, "=", "")
	if back, err := DecodeSW8(unpadded); err != nil || back != h {
		t.Errorf("DecodeSW8(unpadded) = %+v, %v", back, err)
	}
}

func TestSW8Malformed(t *testing.T) {
	ok := SW8{Sampled: true, TraceID: "t", ParentSegmentID: "s", ParentService: "a", ParentInstance: "b", ParentEndpoint: "c", AddressUsedAtClient: "d"}.Encode()
	fields := strings.Split(ok, "-")
	with := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return strings.Join(f, "-")
	}
	for _, bad := range []string{
		"", "-", "1", ok + "-", "-" + ok, strings.Join(fields[:7], "-"),
		with(0, "2"), with(0, ""), with(0, "11"),
		with(1, ""), with(2, ""), with(1, "dA"+"=x"), with(1, "d"), with(1, "d==="), with(1, "dA=="+"dA=="), with(1, "d A="),
		with(3, ""), with(3, "-1"), with(3, "+1"), with(3, "2147483648"), with(3, "99999999999"), with(3, "1e3"),
		with(4, "%%%%"), with(7, "Zg="), with(5, "\x00\x00\x00\x00"),
	} {
		if h, err := DecodeSW8(bad); err == nil {
			t.Errorf("DecodeSW8(%q) = %+v, want an error", bad, h)
		} else if !strings.HasPrefix(err.Error(), "skywalking: malformed sw8 header") {
			t.Errorf("DecodeSW8(%q): error %q", bad, err)
		}
	}
	if h, err := DecodeSW8(with(3, "2147483647")); err != nil || h.ParentSpanID != 2147483647 {
		t.Errorf("largest span id: %+v, %v", h, err)
	}
}

func TestCorrelation(t *testing.T) {
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	long := strings.Repeat("v", MaxCorrelationValue+1)
	hdr := strings.Join([]string{b("a") + ":" + b("1"), "junk", b("long") + ":" + b(long), b("b") + ":" + b(""),
		":" + b("nokey"), b("c") + ":" + b("3"), b("d") + ":" + b("4")}, ",")
	got := DecodeCorrelation(hdr)
	want := []Correlation{{"a", "1"}, {"b", ""}, {"c", "3"}}
	if len(got) != len(want) {
		t.Fatalf("DecodeCorrelation = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("DecodeCorrelation[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if again := DecodeCorrelation(string(AppendCorrelation(nil, got))); len(again) != 3 || again[2] != want[2] {
		t.Errorf("round trip: %v", again)
	}
}

// Decoding allocates once and encoding once: the budget is two.
func TestSW8Allocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	h := SW8{Sampled: true, TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSegmentID: "b7ad6b7169203331b7ad6b7169203331",
		ParentSpanID: 1, ParentService: "gateway", ParentInstance: "gw-1", ParentEndpoint: "GET /api/songs", AddressUsedAtClient: "songs:8080"}
	s := h.Encode()
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeSW8(s) }); n > 1 {
		t.Errorf("DecodeSW8: %v allocs, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.Encode() }); n > 1 {
		t.Errorf("Encode: %v allocs, want 1", n)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendSW8(buf[:0], h) }); n != 0 {
		t.Errorf("AppendSW8: %v allocs, want 0", n)
	}
}
