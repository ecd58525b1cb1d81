package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"google.golang.org/protobuf/encoding/protowire"
)

// maxResponse bounds what is read of a response body.
const maxResponse = 64 << 10

// httpTransport posts requests as application/x-protobuf to one URL.
type httpTransport struct {
	client  *http.Client
	url     string
	headers http.Header
	gzip    bool
	zw      *gzip.Writer
	zbuf    bytes.Buffer
	resp    bytes.Buffer
}

func newHTTPTransport(r *resolved) *httpTransport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if !r.plaintext {
		tr.TLSClientConfig = r.tls.Clone()
	}
	t := &httpTransport{client: &http.Client{Transport: tr}, url: r.target, gzip: r.gzip, headers: http.Header{}}
	for _, k := range r.headerNames {
		t.headers.Set(k, r.headers[k])
	}
	t.headers.Set("Content-Type", "application/x-protobuf")
	t.headers.Set("User-Agent", "strata-otlp/"+SDKVersion)
	if r.gzip {
		t.headers.Set("Content-Encoding", "gzip")
	}
	return t
}

func (t *httpTransport) export(ctx context.Context, body []byte) (partialSuccess, error) {
	if t.gzip {
		t.zbuf.Reset()
		if t.zw == nil {
			t.zw = gzip.NewWriter(&t.zbuf)
		} else {
			t.zw.Reset(&t.zbuf)
		}
		if _, err := t.zw.Write(body); err != nil {
			return partialSuccess{}, fmt.Errorf("otlp: gzip: %w", err)
		}
		if err := t.zw.Close(); err != nil {
			return partialSuccess{}, fmt.Errorf("otlp: gzip: %w", err)
		}
		body = t.zbuf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return partialSuccess{}, fmt.Errorf("otlp: export to %s: %w", t.url, err)
	}
	req.Header = t.headers.Clone()
	resp, err := t.client.Do(req)
	if err != nil {
		// No answer (refused, reset, timed out): the OTLP specification retries.
		return partialSuccess{}, pipeline.Retry(fmt.Errorf("otlp: export: %w", err))
	}
	t.resp.Reset()
	_, rerr := t.resp.ReadFrom(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // reuse the connection
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if rerr != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
			return partialSuccess{}, nil // accepted; the answer is unreadable or not ours
		}
		ps, _ := parsePartialSuccess(t.resp.Bytes())
		return ps, nil
	}
	err = fmt.Errorf("otlp: export to %s: %s%s", t.url, resp.Status, statusMessage(resp.Header.Get("Content-Type"), t.resp.Bytes()))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return partialSuccess{}, pipeline.Retry(err)
	}
	return partialSuccess{}, err
}

// statusMessage returns ": <message>" from an error response: a google.rpc.Status
// (message is field 2), or short plain text.
func statusMessage(contentType string, b []byte) string {
	if strings.HasPrefix(contentType, "application/x-protobuf") {
		var msg string
		_ = walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num == 2 && typ == protowire.BytesType {
				msg = string(v)
			}
			return nil
		})
		if msg != "" {
			return ": " + msg
		}
		return ""
	}
	s := strings.TrimSpace(string(b[:min(len(b), 256)]))
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	return ": " + s
}

func (t *httpTransport) close() error {
	t.client.CloseIdleConnections()
	return nil
}
