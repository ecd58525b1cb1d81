package skywalking

import (
	"context"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/subscriber"
	"google.golang.org/protobuf/proto"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// Two services in one process, each its own dispatch: the gateway's exit span injects
// sw8 into a carrier, the songs service extracts it, and its entry span refers to the
// exit span CrossProcess, in the same trace. Correlation from upstream goes along.
func TestPropagationRoundTripBetweenTwoServices(t *testing.T) {
	gw := newFixture(t, WithService("gateway"), WithInstance("gw-1"))
	songs := newFixture(t, WithService("songs"), WithInstance("songs-1"))

	upstream := subscriber.MapCarrier{HeaderCorrelation: string(AppendCorrelation(nil, []Correlation{{"tenant", "acme"}}))}
	// No sw8 upstream: the correlation header alone does not make a remote parent.
	ctx := gw.d.Extract(context.Background(), upstream)
	if subscriber.RemoteFromContext(ctx) != nil {
		t.Fatal("a correlation header without sw8 made a remote parent")
	}
	upstream[HeaderSW8] = SW8{Sampled: true, TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSegmentID: "s0",
		ParentService: "edge", ParentInstance: "edge-1", ParentEndpoint: "/", AddressUsedAtClient: "gw:80"}.Encode()
	ctx = gw.d.Extract(context.Background(), upstream)

	ctx, entry := gw.tr.Start(ctx, "GET /api/songs", slog.String("otel.kind", "server"))
	ectx, exit := gw.tr.Start(ctx, "GET songs", slog.String("otel.kind", "client"), slog.String("peer", "songs:8080"))
	wire := subscriber.MapCarrier{}
	gw.d.Inject(ectx, wire)

	sctx := songs.d.Extract(context.Background(), wire)
	sctx, served := songs.tr.Start(sctx, "GET /songs", slog.String("otel.kind", "server"))
	_, call := songs.tr.Start(sctx, "GET db", slog.String("otel.kind", "client"), slog.String("peer", "db:5432"))
	next := subscriber.MapCarrier{}
	songs.d.Inject(subscriber.ContextWithSpan(sctx, call), next)
	call.End()
	served.End()
	exit.End()
	entry.End()

	gwSeg, songsSeg := gw.only(t), songs.only(t)
	if gwSeg.TraceId != "0af7651916cd43dd8448eb211c80319c" || songsSeg.TraceId != gwSeg.TraceId {
		t.Errorf("trace ids %q and %q, want both the upstream's", gwSeg.TraceId, songsSeg.TraceId)
	}
	want := &agentv3.SegmentReference{RefType: agentv3.RefType_CrossProcess, TraceId: gwSeg.TraceId,
		ParentTraceSegmentId: gwSeg.TraceSegmentId, ParentSpanId: 1, ParentService: "gateway",
		ParentServiceInstance: "gw-1", ParentEndpoint: "GET /api/songs", NetworkAddressUsedAtPeer: "songs:8080"}
	if refs := songsSeg.Spans[0].Refs; len(refs) != 1 || !proto.Equal(refs[0], want) {
		t.Errorf("songs entry refs %v, want [%v]", refs, want)
	}
	if songsSeg.Service != "songs" || gwSeg.Service != "gateway" {
		t.Errorf("services %q, %q", gwSeg.Service, songsSeg.Service)
	}
	h, err := DecodeSW8(next[HeaderSW8])
	if err != nil {
		t.Fatalf("songs injected %q: %v", next[HeaderSW8], err)
	}
	if h.ParentSegmentID != songsSeg.TraceSegmentId || h.ParentSpanID != 1 || h.ParentEndpoint != "GET /songs" ||
		h.AddressUsedAtClient != "db:5432" || h.ParentService != "songs" || !h.Sampled {
		t.Errorf("songs injected %+v", h)
	}
	if c := DecodeCorrelation(next[HeaderCorrelation]); len(c) != 1 || c[0] != (Correlation{"tenant", "acme"}) {
		t.Errorf("correlation two hops down: %v, want tenant=acme", c)
	}
}

// Malformed sw8 headers are counted and start a new trace; they never fail or panic.
func TestMalformedSW8StartsNewTrace(t *testing.T) {
	f := newFixture(t)
	for _, bad := range []string{"1-x", "2-YQ==-Yg==-0-Yw==-ZA==-ZQ==-Zg==", "1--Yg==-0-Yw==-ZA==-ZQ==-Zg==", "1-YQ==-Yg==-x-Yw==-ZA==-ZQ==-Zg=="} {
		ctx := f.d.Extract(context.Background(), subscriber.MapCarrier{HeaderSW8: bad})
		if subscriber.RemoteFromContext(ctx) != nil {
			t.Errorf("%q gave a remote parent", bad)
		}
	}
	if n := f.l.Stats().MalformedHeaders; n != 4 {
		t.Errorf("MalformedHeaders = %d, want 4", n)
	}
}
