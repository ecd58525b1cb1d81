package grpctrace

import (
	"testing"

	"google.golang.org/grpc/metadata"
)

// The peer of a client span is host:port whatever form the target was given in.
func TestPeerIsHostPortOfTheTarget(t *testing.T) {
	for target, want := range map[string]string{
		"127.0.0.1:50051":               "127.0.0.1:50051",
		"songs:50051":                   "songs:50051",
		"songs":                         "songs:443",
		"dns:///songs.example.com:8443": "songs.example.com:8443",
		"dns://8.8.8.8/songs:50051":     "songs:50051",
		"dns:///songs":                  "songs:443",
		"passthrough:///10.0.0.1:50051": "10.0.0.1:50051",
		"[::1]:50051":                   "[::1]:50051",
		"dns:///[2001:db8::1]:50051":    "[2001:db8::1]:50051",
		"unix:///tmp/songs.sock":        "unix:///tmp/songs.sock",
		"unix:relative.sock":            "unix:relative.sock",
		"unix-abstract:songs":           "unix-abstract:songs",
		"":                              "",
	} {
		if got := peerOf(target); got != want {
			t.Errorf("peerOf(%q) = %q, want %q", target, got, want)
		}
	}
}

// MetadataCarrier reads the first value of a key in any case and writes lowercase keys.
func TestMetadataCarrierIsCaseInsensitive(t *testing.T) {
	md := metadata.Pairs("sw8", "first", "sw8", "second")
	c := MetadataCarrier(md)
	if got := c.Get("SW8"); got != "first" {
		t.Errorf("Get(SW8) = %q, want the first value", got)
	}
	if got := c.Get("missing"); got != "" {
		t.Errorf("Get(missing) = %q", got)
	}
	c.Set("X-Trace", "v")
	if got := md["x-trace"]; len(got) != 1 || got[0] != "v" {
		t.Errorf("Set wrote %v, want x-trace=[v]", md)
	}
}

// splitMethod splits a full method name into service and method.
func TestSplitMethod(t *testing.T) {
	for full, want := range map[string][2]string{
		"/songs.v1.Songs/Get": {"songs.v1.Songs", "Get"},
		"songs.v1.Songs/Get":  {"songs.v1.Songs", "Get"},
		"Get":                 {"", "Get"},
		"":                    {"", ""},
	} {
		s, m := splitMethod(full)
		if s != want[0] || m != want[1] {
			t.Errorf("splitMethod(%q) = %q, %q, want %q, %q", full, s, m, want[0], want[1])
		}
	}
}
