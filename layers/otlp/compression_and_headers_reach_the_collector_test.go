package otlp

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// With gzip, requests travel compressed (grpc-encoding: gzip); without, they do not. The
// headers given reach the collector as metadata.
func TestGRPCCompressionAndHeadersReachTheCollector(t *testing.T) {
	for _, compression := range []string{CompressionGzip, CompressionNone} {
		t.Run(compression, func(t *testing.T) {
			col := startCollector(t)
			l := testLayer(t, WithEndpoint("http://"+col.Addr), WithCompression(compression),
				WithHeaders(map[string]string{"Authorization": "Bearer s3cret", "x-tenant": "songs"}))
			tr := compose(t, l).Tracer("songs")
			for range 20 { // repetitive: gzip shrinks it
				_, span := tr.Start(context.Background(), "work", slog.String("song", "la la la la la la la la"))
				span.End()
			}
			flush(t, l)

			mds := col.metadata()
			if len(mds) != 1 || len(col.spans()) != 20 {
				t.Fatalf("%d requests, %d spans", len(mds), len(col.spans()))
			}
			md := mds[0]
			w := col.wireStats()
			if len(w) != 1 {
				t.Fatalf("wire stats %v", w)
			}
			if compression == CompressionGzip && (w[0].Compression != "gzip" || w[0].WireLength >= w[0].Length) {
				t.Errorf("gzip asked, the request travelled as %+v", w[0])
			}
			if compression == CompressionNone && (w[0].Compression != "" || w[0].WireLength != w[0].Length) {
				t.Errorf("no compression asked, the request travelled as %+v", w[0])
			}
			if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer s3cret" {
				t.Errorf("authorization %q", got)
			}
			if got := md.Get("x-tenant"); len(got) != 1 || got[0] != "songs" {
				t.Errorf("x-tenant %q", got)
			}
			if ua := strings.Join(md.Get("user-agent"), " "); !strings.Contains(ua, "strata-otlp/") {
				t.Errorf("user-agent %q", ua)
			}
		})
	}
}

// Over HTTP/protobuf, a base URL gets /v1/traces, gzip sets Content-Encoding, and the
// headers are sent.
func TestHTTPCompressionAndHeadersReachTheCollector(t *testing.T) {
	for _, compression := range []string{CompressionGzip, CompressionNone} {
		t.Run(compression, func(t *testing.T) {
			col := startHTTPCollector(t)
			l := testLayer(t, WithProtocol(ProtocolHTTPProtobuf), WithEndpoint(col.URL), WithCompression(compression),
				WithHeaders(map[string]string{"Authorization": "Bearer s3cret"}))
			tr := compose(t, l).Tracer("songs")
			_, span := tr.Start(context.Background(), "work")
			span.End()
			flush(t, l)

			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.reqs) != 1 || len(spansOf(col.reqs)) != 1 {
				t.Fatalf("%d requests", len(col.reqs))
			}
			h := col.headers[0]
			if (compression == CompressionGzip) != (h.Get("Content-Encoding") == "gzip") {
				t.Errorf("Content-Encoding %q with compression %s", h.Get("Content-Encoding"), compression)
			}
			if h.Get("Content-Type") != "application/x-protobuf" || h.Get("Authorization") != "Bearer s3cret" {
				t.Errorf("headers %v", h)
			}
			if col.paths[0] != "/v1/traces" {
				t.Errorf("path %q, want /v1/traces", col.paths[0])
			}
		})
	}
}
