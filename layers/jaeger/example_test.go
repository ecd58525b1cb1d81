package jaeger_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	jaegerthrift "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/strata-go/strata/layers/jaeger"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// A service composes the layer after storage; here a UDP socket stands in for the
// Jaeger agent and decodes what it receives as the agent does.
func Example() {
	agentConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer agentConn.Close()

	jl, err := jaeger.New(
		jaeger.WithAgent(agentConn.LocalAddr().String()), // usually from FromEnv: OTEL_EXPORTER_JAEGER_AGENT_HOST
		jaeger.WithService("songs"),
		jaeger.WithTags(slog.String("deployment.environment", "dev")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := subscriber.MustNew(storage.New(), jl)
	tr := d.Tracer("songs/api")

	ctx, req := tr.Start(context.Background(), "GET /songs", slog.String("otel.kind", "server"), slog.Int("http.status_code", 502))
	_, call := tr.Start(ctx, "lastfm.lookup", slog.String("otel.kind", "client"))
	call.EndErr(errors.New("upstream timeout"))
	req.End()

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil { // sends what is queued, closes the socket
		fmt.Println(err)
		return
	}

	// What the agent reads: one emitBatch datagram with both spans.
	buf := make([]byte, 65536)
	_ = agentConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := agentConn.ReadFromUDP(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	mem := thrift.NewTMemoryBuffer()
	mem.Write(buf[:n])
	proto := thrift.NewTCompactProtocol(mem)
	name, _, _, _ := proto.ReadMessageBegin(context.Background())
	args := agent.NewAgentEmitBatchArgs()
	if err := args.Read(context.Background(), proto); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(name, args.Batch.Process.ServiceName)
	for _, s := range args.Batch.Spans {
		line := s.OperationName
		for _, t := range s.Tags {
			switch t.Key {
			case "span.kind", "error", "http.status_code":
				line += fmt.Sprintf(" %s=%v", t.Key, tagValue(t))
			}
		}
		fmt.Println(line)
	}
	st := jl.Stats()
	fmt.Println("sent", st.Sent, "dropped", st.Dropped, "failed", st.Failed)
	// Output:
	// emitBatch songs
	// lastfm.lookup span.kind=client error=true
	// GET /songs span.kind=server http.status_code=502
	// sent 2 dropped 0 failed 0
}

// tagValue is a tag's value, of its type.
func tagValue(t *jaegerthrift.Tag) any {
	switch t.VType {
	case jaegerthrift.TagType_BOOL:
		return t.GetVBool()
	case jaegerthrift.TagType_LONG:
		return t.GetVLong()
	case jaegerthrift.TagType_DOUBLE:
		return t.GetVDouble()
	}
	return t.GetVStr()
}
