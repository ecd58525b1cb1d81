package otlp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/strata-go/strata/layers/otlp"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// A service composes the layer after storage; here an OTLP/HTTP endpoint on 127.0.0.1
// stands in for the collector and prints what it receives.
func Example() {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req tracepb.TracesData // the encoding of an ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			fmt.Println("service:", rs.Resource.Attributes[0].Value.GetStringValue())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					fmt.Printf("%s %q %s %s parent=%t\n", ss.Scope.Name, s.Name, s.Kind, s.Status.GetCode(), len(s.ParentSpanId) > 0)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	exp, err := otlp.New(
		otlp.WithProtocol(otlp.ProtocolHTTPProtobuf),
		otlp.WithEndpoint(collector.URL), // "/v1/traces" is appended
		otlp.WithService("songs"),
		otlp.WithFlushInterval(time.Hour), // one batch, sent by Shutdown
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := subscriber.MustNew(storage.New(), exp)
	tr := d.Tracer("songs/api")

	ctx, req := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"))
	_, q := tr.Start(ctx, "db.query", slog.String("otel.kind", "client"), slog.Int("rows", 3))
	q.EndErr(errors.New("timeout"))
	req.End()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.Shutdown(ctx) // delivers what is queued
	st := exp.Stats()
	fmt.Println("sent:", st.Sent, "failed:", st.Failed)
	// Output:
	// service: songs
	// songs/api "db.query" SPAN_KIND_CLIENT STATUS_CODE_ERROR parent=true
	// songs/api "GET /songs" SPAN_KIND_SERVER STATUS_CODE_UNSET parent=false
	// sent: 2 failed: 0
}
