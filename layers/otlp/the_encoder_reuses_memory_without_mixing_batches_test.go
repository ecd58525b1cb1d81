package otlp

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// testBatch makes n spans over targets, each with attrs attributes, events and links.
func testBatch(n, attrs, events int, targets ...string) []*spanexport.Span {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []*spanexport.Span
	for i := range n {
		s := &spanexport.Span{
			TraceID:  registry.TraceIDFromBytes([16]byte{1, byte(i), 3}),
			SpanID:   registry.SpanID(1000 + i),
			ParentID: uint64(i),
			Name:     fmt.Sprintf("span-%d", i),
			Target:   targets[i%len(targets)],
			Kind:     spanexport.Kind(i % 6),
			Start:    t0,
			End:      t0.Add(time.Duration(i) * time.Millisecond),
			Status:   spanexport.Status(i % 3),
		}
		for a := range attrs {
			s.Attrs = append(s.Attrs, slog.Int(fmt.Sprintf("a%d", a), i*a))
		}
		for e := range events {
			s.Events = append(s.Events, spanexport.Event{Time: t0, Level: subscriber.LevelWarn, Message: fmt.Sprintf("ev%d", e),
				Attrs: []slog.Attr{slog.String("k", "v"), slog.Bool("b", e%2 == 0)}})
		}
		if i%2 == 1 {
			s.Links = append(s.Links, spanexport.Link{TraceID: s.TraceID, SpanID: registry.SpanID(i)})
		}
		out = append(out, s)
	}
	return out
}

// An encoder that encoded bigger and smaller batches before writes exactly what a fresh
// one writes: memory reused between batches never leaks one batch into the next.
func TestTheEncoderReusesMemoryWithoutMixingBatches(t *testing.T) {
	res := []slog.Attr{slog.String("service.name", "songs")}
	reused := newEncoder(res)
	batches := [][]*spanexport.Span{
		testBatch(50, 8, 3, "a", "b", "c"),
		testBatch(3, 1, 0, "z"),
		testBatch(120, 20, 5, "a", "q"),
		testBatch(1, 0, 0, "a"),
		testBatch(7, 2, 1, "b", "a"),
	}
	for i, b := range batches {
		got, err := reused.encode(b)
		if err != nil {
			t.Fatal(err)
		}
		got = bytes.Clone(got)
		want, err := newEncoder(res).encode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("batch %d: the reused encoder wrote %d bytes, a fresh one %d", i, len(got), len(want))
		}
		var td tracepb.TracesData
		if err := proto.Unmarshal(got, &td); err != nil {
			t.Fatal(err)
		}
		if n := len(spansOf([]*tracepb.TracesData{&td})); n != len(b) {
			t.Errorf("batch %d: %d spans decoded, want %d", i, n, len(b))
		}
		// Spans of a target are together, in their order in the batch.
		seen := map[string]bool{}
		for _, ss := range td.ResourceSpans[0].ScopeSpans {
			if seen[ss.Scope.Name] {
				t.Errorf("batch %d: scope %s twice", i, ss.Scope.Name)
			}
			seen[ss.Scope.Name] = true
			last := -1
			for _, s := range ss.Spans {
				var k int
				fmt.Sscanf(s.Name, "span-%d", &k)
				if b[k].Target != ss.Scope.Name || k <= last {
					t.Errorf("batch %d: span %s in scope %s after %d", i, s.Name, ss.Scope.Name, last)
				}
				last = k
			}
		}
	}
}
