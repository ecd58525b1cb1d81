package otlp

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
)

// A span continuing a trace from another process keeps the upstream trace id (a
// 128-bit one as it is, another form mapped by spanexport.TraceID128 with the original
// as an attribute), and its parent is the upstream span, flagged remote.
func TestUpstreamTracesKeepTheirIDs(t *testing.T) {
	cases := []struct {
		name, upstream string
		wantOriginal   bool
	}{
		{"w3c 128-bit", "0af7651916cd43dd8448eb211c80319c", false},
		{"64-bit hex", "00f067aa0ba902b7", true},
		{"skywalking", "a1b2c3.45.16801234560001", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := startCollector(t)
			l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
			tr := compose(t, l).Tracer("songs")
			tid := registry.ParseTraceID(c.upstream)
			ctx := subscriber.ContextWithRemote(context.Background(), &subscriber.RemoteParent{
				TraceID: tid, SpanID: 0xb7ad6b7169203331, Sampled: true,
			})
			ctx, span := tr.Start(ctx, "GET /songs")
			_, child := tr.Start(ctx, "child")
			child.End()
			span.End()
			flush(t, l)

			by := byName(col.spans())
			s, ch := by["GET /songs"], by["child"]
			if s == nil || ch == nil {
				t.Fatalf("spans %v", by)
			}
			want, _ := spanexport.TraceID128(tid)
			if c.name == "w3c 128-bit" && hex.EncodeToString(want[:]) != c.upstream {
				t.Fatalf("the test's premise: %x is not %s", want, c.upstream)
			}
			for _, x := range []struct {
				name string
				id   []byte
			}{{"span", s.TraceId}, {"child", ch.TraceId}} {
				if !bytes.Equal(x.id, want[:]) {
					t.Errorf("%s trace id %x, want %x", x.name, x.id, want)
				}
			}
			orig, ok := attrMap(s.Attributes)[spanexport.OriginalTraceIDKey]
			if ok != c.wantOriginal || (ok && orig.GetStringValue() != c.upstream) {
				t.Errorf("%s = %v (present %v), want present %v with %q", spanexport.OriginalTraceIDKey, orig, ok, c.wantOriginal, c.upstream)
			}
			if !bytes.Equal(s.ParentSpanId, spanIDBytes(0xb7ad6b7169203331)) || s.Flags&flagIsRemote == 0 {
				t.Errorf("parent %x flags %#x, want the upstream span b7ad6b7169203331, remote", s.ParentSpanId, s.Flags)
			}
			if !bytes.Equal(ch.ParentSpanId, s.SpanId) || ch.Flags&flagIsRemote != 0 {
				t.Errorf("child parent %x flags %#x, want %x, local", ch.ParentSpanId, ch.Flags, s.SpanId)
			}
		})
	}
}
