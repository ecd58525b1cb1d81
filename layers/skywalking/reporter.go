package skywalking

import (
	"context"
	"errors"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// reporter takes finished segments away from the spans' goroutines. report never
// blocks; false means the segment was dropped (and counted in stats).
type reporter interface {
	report(*agentv3.SegmentObject) bool
	flush(ctx context.Context) error
	shutdown(ctx context.Context) error
	stats() pipeline.Stats
}

// grpcReporter queues segments in the exporters' shared pipeline, which sends them in
// batches over the collector client's collect stream.
type grpcReporter struct {
	client *oap.Client
	queue  *pipeline.Pipeline[*agentv3.SegmentObject]
}

func dialReporter(c *config) (*grpcReporter, error) {
	client, err := oap.Dial(oap.Config{
		Address:   c.address.v,
		Token:     c.token.v,
		TLS:       c.tls,
		Service:   c.service.v,
		Instance:  c.instance.v,
		Layer:     c.layer.v,
		Heartbeat: c.heartbeat.v,
		Logf:      c.logf,
	})
	if err != nil {
		return nil, err
	}
	q := pipeline.New(pipeline.Config{
		Name:      "skywalking segments",
		QueueSize: c.queueSize.v,
		Logf:      c.logf,
	}, pipeline.SenderFunc[*agentv3.SegmentObject](client.SendSegments))
	return &grpcReporter{client: client, queue: q}, nil
}

func (r *grpcReporter) report(s *agentv3.SegmentObject) bool { return r.queue.Enqueue(s) }
func (r *grpcReporter) flush(ctx context.Context) error      { return r.queue.Flush(ctx) }
func (r *grpcReporter) stats() pipeline.Stats                { return r.queue.Stats() }

// shutdown delivers what is queued within ctx, then closes the connection and stops
// the client's heartbeat.
func (r *grpcReporter) shutdown(ctx context.Context) error {
	err := r.queue.Shutdown(ctx)
	return errors.Join(err, r.client.Close(ctx))
}
