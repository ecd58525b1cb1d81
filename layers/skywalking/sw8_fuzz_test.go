package skywalking

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecodeSW8 checks that DecodeSW8 never panics, that what it accepts encodes back to
// a header that decodes to the same value, and that it agrees with encoding/base64 on
// the fields. The seed corpus is in testdata/fuzz/FuzzDecodeSW8 and runs with go test.
func FuzzDecodeSW8(f *testing.F) {
	f.Add(SW8{Sampled: true, TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSegmentID: "s", ParentSpanID: 3,
		ParentService: "svc", ParentInstance: "i", ParentEndpoint: "/x", AddressUsedAtClient: "h:1"}.Encode())
	f.Add("1-YQ-Yg-0---" + "-")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeSW8(s)
		DecodeCorrelation(s) // must not panic either
		if err != nil {
			return
		}
		if h.TraceID == "" || h.ParentSegmentID == "" || h.ParentSpanID < 0 {
			t.Fatalf("DecodeSW8(%q) accepted %+v", s, h)
		}
		again, err := DecodeSW8(h.Encode())
		if err != nil || again != h {
			t.Fatalf("DecodeSW8(%q) = %+v, which encodes to %q and decodes to %+v, %v", s, h, h.Encode(), again, err)
		}
		fields := strings.Split(s, "-")
		want, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(fields[1], "="))
		if err != nil || string(want) != h.TraceID {
			t.Fatalf("trace id field %q: DecodeSW8 gave %q, encoding/base64 %q, %v", fields[1], h.TraceID, want, err)
		}
	})
}
