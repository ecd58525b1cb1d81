package otlp

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/internal/spanexport"
	"github.com/strata-go/strata/registry"
	"github.com/strata-go/strata/subscriber"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// lazyName is a LogValuer, resolved when encoded.
type lazyName struct{ s string }

func (l lazyName) LogValue() slog.Value { return slog.StringValue("lazy " + l.s) }

// everyKind is one attribute of each kind a snapshot can hold, with the edge values of
// each: empty, invalid UTF-8, out of int64's range, NaN and infinities, zero times.
func everyKind() []slog.Attr {
	at := time.Date(2026, 11, 22, 4, 5, 6, 789, time.FixedZone("x", 3600))
	return []slog.Attr{
		slog.String("s", "text"),
		slog.String("empty", ""),
		slog.String("", "empty key"),
		slog.String("bad\xff", "a\xff\xfeb\xc3"),
		slog.String("replacement", "\uFFFD kept, \xff\xff replaced once, é kept"),
		slog.String("long", strings.Repeat("x", 200)),
		slog.Int("int", -42),
		slog.Int64("min", math.MinInt64),
		slog.Int64("zero", 0),
		slog.Uint64("small", 7),
		slog.Uint64("edge", math.MaxInt64),
		slog.Uint64("huge", math.MaxUint64),
		slog.Float64("f", 0.25),
		slog.Float64("fzero", 0),
		slog.Float64("negzero", math.Copysign(0, -1)),
		slog.Float64("nan", math.NaN()),
		slog.Float64("inf", math.Inf(-1)),
		slog.Bool("yes", true),
		slog.Bool("no", false),
		slog.Duration("d", 1500*time.Millisecond),
		slog.Duration("dneg", -time.Second),
		slog.Time("t", at),
		slog.Time("tzero", time.Time{}),
		slog.Any("point", point{1, 2}),
		slog.Any("lazy", lazyName{"x"}),
		slog.Group("g", slog.Int("a", 1), slog.String("b", "c")),
		slog.String("level", "a field named level"),
	}
}

// referenceBatches are batches covering what the encoder writes: every attribute kind,
// events (with and without a level field, zero time), links, every status and kind,
// parents local and remote and none, dropped events, zero and pre-1970 times, empty
// and invalid UTF-8 names, targets and messages, upstream trace ids, targets
// interleaved, spans whose length takes 1, 2 and 3 bytes, a request over 2 MiB, and
// no span at all.
func referenceBatches() map[string][]*spanexport.Span {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	upstream := registry.ParseTraceID("upstream-id-1") // not 128-bit hex: mapped
	hex := registry.ParseTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	var mixed []*spanexport.Span
	for i := range 24 {
		s := &spanexport.Span{
			TraceID: registry.TraceIDFromBytes([16]byte{byte(i), 2, 3}),
			SpanID:  registry.SpanID(uint64(i) << 40),
			Name:    fmt.Sprintf("span-%d", i),
			Target:  []string{"a", "b\xff", "", "a/b"}[i%4],
			Kind:    spanexport.Kind(i % 7), // 6 is past the last kind: internal
			Start:   t0,
			End:     t0.Add(time.Duration(i) * time.Microsecond),
			Status:  spanexport.Status(i % 3),
		}
		switch i % 3 {
		case 1:
			s.ParentID = uint64(i) * 977
		case 2:
			s.ParentID, s.RemoteParent = math.MaxUint64, true
		}
		if s.Status == spanexport.StatusError {
			s.StatusMessage = []string{"", "boom", "bad \xff message"}[i%3]
		}
		switch i % 5 {
		case 0:
			s.Attrs = everyKind()
		case 1:
			s.Attrs = []slog.Attr{slog.Int("only", i)}
		}
		if i%4 == 1 {
			s.Events = []spanexport.Event{
				{Time: t0, Level: subscriber.LevelWarn, Message: "with fields", Attrs: everyKind()[:12]},
				{Time: time.Time{}, Level: subscriber.LevelInfo, Message: ""},
				{Time: t0, Level: subscriber.LevelError, Message: "bad\xff", Attrs: []slog.Attr{slog.String("level", "own")}},
				{Time: t0, Level: subscriber.Level(3), Message: "odd level", Attrs: []slog.Attr{slog.Bool("b", true)}},
				{Time: t0, Level: subscriber.LevelTrace, Message: "trace"},
			}
		}
		if i%3 == 0 {
			s.Links = []spanexport.Link{{TraceID: hex, SpanID: 1}, {TraceID: upstream, SpanID: 0}, {TraceID: s.TraceID, SpanID: math.MaxUint64}}
		}
		s.DroppedEvents = []int{0, 5, -1, math.MaxInt64}[i%4]
		mixed = append(mixed, s)
	}
	odd := []*spanexport.Span{
		{TraceID: upstream, SpanID: 1, Name: "", Target: "t", Kind: spanexport.KindServer},                                   // no times, no name
		{TraceID: hex, SpanID: 0, Name: "\xff", Target: "t", Start: time.Unix(-5, 0), End: time.Unix(0, 1)},                  // before 1970
		{TraceID: registry.TraceID{}, SpanID: 2, Name: strings.Repeat("n", 20000), Target: "t", Status: spanexport.StatusOK}, // 3-byte length
		{TraceID: hex, SpanID: 3, Name: strings.Repeat("é", 100), Target: "t", Attrs: []slog.Attr{slog.String("big", strings.Repeat("v\xff", 9000))}},
	}
	huge := &spanexport.Span{TraceID: hex, SpanID: 4, Name: "huge", Target: "t", Start: t0, End: t0,
		Attrs: []slog.Attr{slog.String("blob", strings.Repeat("z", 3<<20))}} // the request takes a 4-byte length
	return map[string][]*spanexport.Span{
		"mixed":  mixed,
		"odd":    odd,
		"huge":   {huge, odd[0]},
		"one":    mixed[:1],
		"empty":  nil,
		"upward": {mixed[5], mixed[4], mixed[3], mixed[2], mixed[1], mixed[0]},
	}
}

// The encoder that writes the wire format directly writes, for every batch, the bytes
// proto.Marshal writes for the OTLP messages the previous encoder built (kept in
// reference_encoder_test.go), which the generated types decode to equal messages: the
// change of encoder changes nothing a collector can see.
func TestTheDirectEncoderWritesWhatProtoMarshalWrites(t *testing.T) {
	res := append([]slog.Attr{slog.String("service.name", "songs")}, everyKind()...)
	direct, ref := newEncoder(res), newRefEncoder(res)
	for name, batch := range referenceBatches() {
		t.Run(name, func(t *testing.T) {
			got, err := direct.encode(batch)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.encode(batch)
			if err != nil {
				t.Fatal(err)
			}
			var gotTD, wantTD tracepb.TracesData
			if err := proto.Unmarshal(got, &gotTD); err != nil {
				t.Fatalf("the generated types do not decode the request: %v", err)
			}
			if err := proto.Unmarshal(want, &wantTD); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&gotTD, &wantTD) {
				t.Errorf("decoded requests differ:\n got %.2000v\nwant %.2000v", &gotTD, &wantTD)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("%d bytes written, proto.Marshal wrote %d; first difference at %d", len(got), len(want), i)
			}
			if n := len(spansOf([]*tracepb.TracesData{&gotTD})); n != len(batch) {
				t.Errorf("%d spans decoded, want %d", n, len(batch))
			}
		})
	}
}

// Spot checks of the decoded request against values written out here, independent of
// the reference encoder: what the comparison above takes for granted.
func TestTheDirectEncoderWritesTheExpectedValues(t *testing.T) {
	batches := referenceBatches()
	got, err := newEncoder([]slog.Attr{slog.String("service.name", "songs"), slog.Any("lazy", lazyName{"r"})}).encode(batches["mixed"])
	if err != nil {
		t.Fatal(err)
	}
	var td tracepb.TracesData
	if err := proto.Unmarshal(got, &td); err != nil {
		t.Fatal(err)
	}
	rs := td.ResourceSpans[0]
	if ra := attrMap(rs.Resource.Attributes); ra["service.name"].GetStringValue() != "songs" || ra["lazy"].GetStringValue() != "lazy r" {
		t.Errorf("resource attributes %v", rs.Resource.Attributes)
	}
	var scopes []string
	for _, ss := range rs.ScopeSpans {
		scopes = append(scopes, ss.Scope.GetName())
	}
	if want := []string{"a", "b\uFFFD", "", "a/b"}; fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
	spans := byName(spansOf([]*tracepb.TracesData{&td}))
	s0 := spans["span-0"]
	a := attrMap(s0.Attributes)
	checks := []struct {
		what string
		ok   bool
	}{
		{"string", a["s"].GetStringValue() == "text"},
		{"empty string is a string", a["empty"] != nil && a["empty"].GetValue() != nil && a["empty"].GetStringValue() == ""},
		{"empty key", a[""].GetStringValue() == "empty key"},
		{"invalid UTF-8 replaced", a["bad\uFFFD"].GetStringValue() == "a\uFFFDb\uFFFD"},
		{"replacement", a["replacement"].GetStringValue() == "\uFFFD kept, \uFFFD replaced once, é kept"},
		{"int", a["int"].GetIntValue() == -42 && a["min"].GetIntValue() == math.MinInt64},
		{"zero int is an int", a["zero"].GetValue() != nil && a["zero"].GetIntValue() == 0},
		{"uint64", a["small"].GetIntValue() == 7 && a["edge"].GetIntValue() == math.MaxInt64},
		{"huge uint64 as text", a["huge"].GetStringValue() == "18446744073709551615"},
		{"double", a["f"].GetDoubleValue() == 0.25 && math.IsNaN(a["nan"].GetDoubleValue()) && math.IsInf(a["inf"].GetDoubleValue(), -1)},
		{"zero double is a double", a["fzero"].GetValue() != nil && a["fzero"].GetDoubleValue() == 0},
		{"negative zero", math.Signbit(a["negzero"].GetDoubleValue())},
		{"bools", a["yes"].GetBoolValue() && a["no"].GetValue() != nil && !a["no"].GetBoolValue()},
		{"duration in ns", a["d"].GetIntValue() == 1500e6 && a["dneg"].GetIntValue() == -1e9},
		{"time as RFC 3339", a["t"].GetStringValue() == "2026-11-22T04:05:06.000000789+01:00"},
		{"any as text", a["point"].GetStringValue() == "{1 2}" && a["lazy"].GetStringValue() == "lazy x"},
		{"group as text", a["g"].GetStringValue() == "[a=1 b=c]"},
		{"ids", bytes.Equal(s0.TraceId, []byte{0, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) && len(s0.SpanId) == 8 && len(s0.ParentSpanId) == 0},
		{"root flags", s0.Flags == flagSampled|flagHasIsRemote},
		{"internal kind, unset status", s0.Kind == tracepb.Span_SPAN_KIND_INTERNAL && s0.Status == nil},
		{"local parent", bytes.Equal(spans["span-1"].ParentSpanId, spanIDBytes(977)) && spans["span-1"].Flags&flagIsRemote == 0},
		{"remote parent", bytes.Equal(spans["span-2"].ParentSpanId, spanIDBytes(math.MaxUint64)) && spans["span-2"].Flags&flagIsRemote != 0},
		{"internal kind, ok status", spans["span-1"].Kind == tracepb.Span_SPAN_KIND_INTERNAL && spans["span-1"].Status.GetCode() == tracepb.Status_STATUS_CODE_OK},
		{"server, client, producer, consumer", spans["span-2"].Kind == tracepb.Span_SPAN_KIND_SERVER && spans["span-3"].Kind == tracepb.Span_SPAN_KIND_CLIENT &&
			spans["span-4"].Kind == tracepb.Span_SPAN_KIND_PRODUCER && spans["span-5"].Kind == tracepb.Span_SPAN_KIND_CONSUMER},
		{"error status", spans["span-2"].Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR && spans["span-2"].Status.GetMessage() == "bad \uFFFD message"},
		{"times", spans["span-3"].StartTimeUnixNano == uint64(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()) && spans["span-3"].EndTimeUnixNano == spans["span-3"].StartTimeUnixNano+3000},
		{"dropped events", spans["span-1"].DroppedEventsCount == 5 && spans["span-2"].DroppedEventsCount == 0 && spans["span-3"].DroppedEventsCount == math.MaxUint32},
		{"links", len(s0.Links) == 3 && s0.Links[2].Flags == flagSampled|flagHasIsRemote && bytes.Equal(s0.Links[2].SpanId, spanIDBytes(math.MaxUint64))},
		{"unknown kind is internal", spans["span-6"].Kind == tracepb.Span_SPAN_KIND_INTERNAL},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong", c.what)
		}
	}
	ev := spans["span-1"].Events
	if len(ev) != 5 {
		t.Fatalf("%d events, want 5", len(ev))
	}
	level := func(e *tracepb.Span_Event) []string {
		var out []string
		for _, kv := range e.Attributes {
			if kv.Key == "level" {
				out = append(out, kv.Value.GetStringValue())
			}
		}
		return out
	}
	if ev[0].Name != "with fields" || len(ev[0].Attributes) != 13 || fmt.Sprint(level(ev[0])) != "[WARN]" {
		t.Errorf("event 0: %v", ev[0])
	}
	if ev[1].TimeUnixNano != 0 || ev[1].Name != "" || fmt.Sprint(level(ev[1])) != "[INFO]" {
		t.Errorf("event 1: %v", ev[1])
	}
	if ev[2].Name != "bad\uFFFD" || fmt.Sprint(level(ev[2])) != "[own]" {
		t.Errorf("event 2: %v", ev[2])
	}
	if fmt.Sprint(level(ev[3])) != "[INFO+3]" || fmt.Sprint(level(ev[4])) != "[TRACE]" {
		t.Errorf("events 3, 4: %v %v", level(ev[3]), level(ev[4]))
	}
}

// benchBatch is 200 spans like the bench module's OTLPSpan row: one target, two
// attributes (a string and an int), no events.
func benchBatch() []*spanexport.Span {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	batch := make([]*spanexport.Span, 200)
	for i := range batch {
		batch[i] = &spanexport.Span{TraceID: registry.NewTraceID(), SpanID: registry.SpanID(i + 1), Name: "GET /songs",
			Target: "bench", Start: t0, End: t0.Add(time.Millisecond),
			Attrs: []slog.Attr{slog.String("http.route", "/songs"), slog.Int("http.status", 200)}}
	}
	return batch
}

// BenchmarkEncode is the cost of encoding one span, direct and with the reference
// (object building and proto.Marshal), in batches of 200.
func BenchmarkEncode(b *testing.B) {
	batch := benchBatch()
	res := []slog.Attr{slog.String("service.name", "bench")}
	for _, enc := range []struct {
		name   string
		encode func([]*spanexport.Span) ([]byte, error)
	}{{"direct", newEncoder(res).encode}, {"proto_marshal", newRefEncoder(res).encode}} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.encode(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/span")
		})
	}
}
