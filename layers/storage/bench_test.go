package storage_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// BenchmarkRangeDepth reads every field visible to a span under depth ancestors with 5
// fields each: linear in the fields visited, with no scratch growing with depth.
func BenchmarkRangeDepth(b *testing.B) {
	benchAtDepth(b, func(b *testing.B, span subscriber.SpanRef) {
		n := 0
		fn := func(string, slog.Value) bool { n++; return true }
		b.ReportAllocs()
		for b.Loop() {
			storage.Range(span, fn)
		}
	})
}

// BenchmarkVersionDepth reads a span's version under depth ancestors: two atomic loads
// at any depth.
func BenchmarkVersionDepth(b *testing.B) {
	benchAtDepth(b, func(b *testing.B, span subscriber.SpanRef) {
		var v uint64
		for b.Loop() {
			v += storage.Version(span)
		}
		_ = v
	})
}

func benchAtDepth(b *testing.B, bench func(b *testing.B, span subscriber.SpanRef)) {
	for _, keys := range []string{"unique", "repeated"} {
		for _, depth := range []int{1, 8, 32, 128} {
			b.Run(fmt.Sprintf("keys=%s/depth=%d", keys, depth), func(b *testing.B) {
				p := &probe{onClose: func(span subscriber.SpanRef) {
					if span.Name() == "leaf" {
						bench(b, span)
					}
				}}
				tr := compose(b, p)
				ctx, end := chain(tr, depth, keys == "repeated")
				_, leaf := tr.Start(ctx, "leaf", slog.Int("own", 1))
				leaf.End()
				end()
			})
		}
	}
}
