package skywalking_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// A service composes the layer after storage, and its outgoing calls carry sw8.
func Example() {
	sw, err := skywalking.New(
		skywalking.WithService("songs"),
		skywalking.WithCollector("127.0.0.1:11800"), // the OAP's gRPC port; connected lazily
		skywalking.WithLogf(func(string, ...any) {}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := subscriber.MustNew(storage.New(), sw)
	tr := d.Tracer("songs")

	ctx, req := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"))
	cctx, call := tr.Start(ctx, "GET api.last.fm", slog.String("otel.kind", "client"), slog.String("peer", "api.last.fm:443"))
	headers := subscriber.MapCarrier{}
	d.Inject(cctx, headers)
	h, _ := skywalking.DecodeSW8(headers["sw8"])
	fmt.Println(h.ParentService, h.ParentSpanID, h.ParentEndpoint, h.AddressUsedAtClient)
	call.End()
	req.End()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d.Shutdown(ctx) // no OAP listens here: the segment is reported lost
	// Output: songs 1 GET /songs api.last.fm:443
}

// DecodeSW8 reads what a SkyWalking caller sent; a malformed header is an error.
func ExampleDecodeSW8() {
	h, err := skywalking.DecodeSW8("1-MGFmNzY1MTkxNmNkNDNkZDg0NDhlYjIxMWM4MDMxOWM=-c2VnMQ==-2-Z2F0ZXdheQ==-Z3ctMQ==-L2FwaQ==-c29uZ3M6ODA4MA==")
	fmt.Println(h.TraceID, h.ParentSegmentID, h.ParentSpanID, h.ParentService, h.AddressUsedAtClient, err)
	_, err = skywalking.DecodeSW8("1-abc")
	fmt.Println(err)
	// Output:
	// 0af7651916cd43dd8448eb211c80319c seg1 2 gateway songs:8080 <nil>
	// skywalking: malformed sw8 header: 2 fields, want 8
}
