package otlp

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A collector that answers UNAVAILABLE, then accepts, gets every span once: the batch is
// retried, nothing is lost or sent twice.
func TestUnavailableIsRetriedAndLosesNothing(t *testing.T) {
	col := startCollector(t)
	col.failNext(status.New(codes.Unavailable, "restarting"), withRetryInfo(t, codes.ResourceExhausted))
	l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
	tr := compose(t, l).Tracer("songs")
	for range 3 {
		_, span := tr.Start(context.Background(), "work")
		span.End()
	}
	flush(t, l) // cuts the backoff short
	for st := l.Stats(); st.Sent < 3; st = l.Stats() {
		flush(t, l)
	}
	if n := len(col.spans()); n != 3 {
		t.Errorf("the collector got %d spans, want 3", n)
	}
	st := l.Stats()
	if st.Sent != 3 || st.Failed != 0 || st.Dropped != 0 || st.Retries < 2 {
		t.Errorf("stats %+v, want 3 sent after at least 2 retries", st)
	}
}

// Codes the OTLP specification does not retry lose the batch, counted as failed; the
// next batch goes out.
func TestNonRetryableCodesCountFailed(t *testing.T) {
	for _, st := range []*status.Status{
		status.New(codes.InvalidArgument, "bad span"),
		status.New(codes.Unauthenticated, "who are you"),
		status.New(codes.ResourceExhausted, "too big"), // without RetryInfo
		status.New(codes.Unimplemented, "not a collector"),
	} {
		t.Run(st.Code().String(), func(t *testing.T) {
			col := startCollector(t)
			col.failNext(st)
			l := testLayer(t, WithEndpoint(col.Addr), WithInsecure())
			tr := compose(t, l).Tracer("songs")
			_, span := tr.Start(context.Background(), "lost")
			span.End()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := l.Flush(ctx); err == nil {
				t.Error("Flush reported no failure")
			}
			_, span = tr.Start(context.Background(), "sent")
			span.End()
			flush(t, l)
			if got := l.Stats(); got.Failed != 1 || got.Sent != 1 || got.Retries != 0 {
				t.Errorf("stats %+v, want 1 failed, 1 sent, no retry", got)
			}
			if spans := col.spans(); len(spans) != 1 || spans[0].Name != "sent" {
				t.Errorf("collector got %v", spans)
			}
		})
	}
}

// Every code is classified as the OTLP specification says.
func TestRetryableGRPCCodesFollowTheSpecification(t *testing.T) {
	retryable := map[codes.Code]bool{
		codes.Canceled: true, codes.DeadlineExceeded: true, codes.Aborted: true,
		codes.OutOfRange: true, codes.Unavailable: true, codes.DataLoss: true,
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if got := retryableGRPC(status.New(c, "")); got != retryable[c] {
			t.Errorf("%v: retryable %v, want %v", c, got, retryable[c])
		}
	}
	if !retryableGRPC(withRetryInfo(t, codes.ResourceExhausted)) {
		t.Error("RESOURCE_EXHAUSTED with RetryInfo is not retried")
	}
}

// Over HTTP, 429/502/503/504 are retried; other errors lose the batch.
func TestHTTPStatusesAreRetriedAsTheSpecificationSays(t *testing.T) {
	col := startHTTPCollector(t)
	col.mu.Lock()
	col.statuses = []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout}
	col.mu.Unlock()
	l := testLayer(t, WithProtocol(ProtocolHTTPProtobuf), WithEndpoint(col.URL+"/otlp/v1/traces"))
	tr := compose(t, l).Tracer("songs")
	_, span := tr.Start(context.Background(), "retried")
	span.End()
	for st := l.Stats(); st.Sent < 1; st = l.Stats() {
		flush(t, l)
	}
	if st := l.Stats(); st.Sent != 1 || st.Retries != 4 || st.Failed != 0 {
		t.Errorf("stats %+v, want sent after 4 retries", st)
	}

	col.mu.Lock()
	col.statuses = []int{http.StatusBadRequest}
	path := col.paths[0]
	col.mu.Unlock()
	if path != "/otlp/v1/traces" {
		t.Errorf("path %q: a URL with a path is used as is", path)
	}
	_, span = tr.Start(context.Background(), "lost")
	span.End()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := l.Flush(ctx)
	if err == nil {
		t.Fatal("Flush reported no failure")
	}
	if st := l.Stats(); st.Failed != 1 || st.Sent != 1 {
		t.Errorf("stats %+v, want 1 failed", st)
	}
	if want := "400 Bad Request: try later"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}
