package otlp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// tlsPair returns a server certificate for 127.0.0.1 (httptest's) and a client
// configuration that trusts it.
func tlsPair(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	cert := srv.TLS.Certificates[0]
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return cert, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Over gRPC, a host:port endpoint is TLS unless WithInsecure: with WithTLS trusting
// the collector's certificate, spans arrive; a plaintext collector is not spoken to in
// plaintext.
func TestGRPCOverTLS(t *testing.T) {
	cert, clientTLS := tlsPair(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{Addr: ln.Addr().String(), entered: make(chan struct{}, 100)}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	srv.RegisterService(&traceServiceDesc, col)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() { srv.Stop(); wg.Wait() })

	l := testLayer(t, WithEndpoint(col.Addr), WithTLS(clientTLS))
	tr := compose(t, l).Tracer("songs")
	_, span := tr.Start(context.Background(), "secure")
	span.End()
	flush(t, l)
	if spans := col.spans(); len(spans) != 1 || spans[0].Name != "secure" {
		t.Fatalf("collector got %v", spans)
	}

	// The same endpoint without trusting the certificate: nothing is delivered.
	l2 := testLayer(t, WithEndpoint(col.Addr))
	tr2 := compose(t, l2).Tracer("songs")
	_, span = tr2.Start(context.Background(), "untrusted")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := l2.Shutdown(ctx); err == nil {
		t.Error("Shutdown says the span to an untrusted collector was delivered")
	}
	if n := len(col.spans()); n != 1 || l2.Stats().Sent != 0 || l2.Stats().Failed != 1 {
		t.Errorf("an untrusted collector got spans: %d, stats %+v", n, l2.Stats())
	}
}

// Over HTTP/protobuf, an https:// endpoint uses WithTLS.
func TestHTTPOverTLS(t *testing.T) {
	col := &httpCollector{}
	srv := httptest.NewTLSServer(http.HandlerFunc(col.serve))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	l := testLayer(t, WithProtocol(ProtocolHTTPProtobuf), WithEndpoint(srv.URL), WithTLS(&tls.Config{RootCAs: pool}))
	tr := compose(t, l).Tracer("songs")
	_, span := tr.Start(context.Background(), "secure")
	span.End()
	flush(t, l)
	if spans := spansOf(col.requests()); len(spans) != 1 || spans[0].Name != "secure" {
		t.Fatalf("collector got %v", spans)
	}
}

// FromEnv's endpoint, headers and service reach the collector.
func TestFromEnvReachesTheCollector(t *testing.T) {
	col := startCollector(t)
	clearEnv(t)
	t.Setenv(EnvEndpoint, "http://"+col.Addr)
	t.Setenv(EnvHeaders, "authorization=Bearer%20t0ken")
	t.Setenv(EnvServiceName, "songs-env")
	t.Setenv(EnvCompression, "gzip")
	l, err := FromEnv(WithLogf(func(string, ...any) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Shutdown(context.Background()) })
	tr := compose(t, l).Tracer("songs")
	_, span := tr.Start(context.Background(), "work")
	span.End()
	flush(t, l)
	reqs, mds := col.requests(), col.metadata()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got := attrMap(reqs[0].ResourceSpans[0].Resource.Attributes)["service.name"].GetStringValue(); got != "songs-env" {
		t.Errorf("service.name %q", got)
	}
	if got := mds[0].Get("authorization"); len(got) != 1 || got[0] != "Bearer t0ken" {
		t.Errorf("authorization %q", got)
	}
	if w := col.wireStats(); len(w) != 1 || w[0].Compression != "gzip" {
		t.Errorf("wire %v, want gzip", w)
	}
}
