package skywalking

import (
	"context"
	"errors"

	"github.com/strata-go/strata/layers/internal/pipeline"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
	logv3 "skywalking.apache.org/repo/goapi/collect/logging/v3"
)

// reporter takes finished segments away from the spans' goroutines. report never
// blocks; false means the segment was dropped (and counted in stats).
type reporter interface {
	report(*agentv3.SegmentObject) bool
	reportLog(*logv3.LogData) bool
	// sendMeters sends one meter report, from the meter loop or Shutdown (never both
	// at once), and waits for the answer.
	sendMeters(ctx context.Context, data []*agentv3.MeterData) error
	flush(ctx context.Context) error
	shutdown(ctx context.Context) error
	stats() pipeline.Stats
	logStats() pipeline.Stats
}

// grpcReporter queues segments and log records in two of the exporters' shared
// pipelines, which send them in batches over the collector client's collect streams.
type grpcReporter struct {
	client *oap.Client
	queue  *pipeline.Pipeline[*agentv3.SegmentObject]
	logs   *pipeline.Pipeline[*logv3.LogData]
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
	}, recycling(client.SendSegments))
	lq := pipeline.New(pipeline.Config{
		Name:      "skywalking logs",
		QueueSize: c.logQueueSize.v,
		Logf:      c.logf,
	}, pipeline.SenderFunc[*logv3.LogData](client.SendLogs))
	return &grpcReporter{client: client, queue: q, logs: lq}, nil
}

func (r *grpcReporter) report(s *agentv3.SegmentObject) bool { return enqueue(r.queue, s) }
func (r *grpcReporter) reportLog(ld *logv3.LogData) bool     { return r.logs.Enqueue(ld) }
func (r *grpcReporter) sendMeters(ctx context.Context, data []*agentv3.MeterData) error {
	return r.client.SendMeters(ctx, data)
}
func (r *grpcReporter) stats() pipeline.Stats    { return r.queue.Stats() }
func (r *grpcReporter) logStats() pipeline.Stats { return r.logs.Stats() }

// flush delivers the segments and log records queued so far, within ctx.
func (r *grpcReporter) flush(ctx context.Context) error {
	var errLogs error
	done := make(chan struct{})
	go func() { // owned here: flush waits for it
		defer close(done)
		errLogs = r.logs.Flush(ctx)
	}()
	err := r.queue.Flush(ctx)
	<-done
	return errors.Join(err, errLogs)
}

// shutdown delivers what is queued within ctx (segments and log records at once), then
// closes the connection and stops the client's heartbeat.
func (r *grpcReporter) shutdown(ctx context.Context) error {
	var errLogs error
	done := make(chan struct{})
	go func() { // owned here: shutdown waits for it
		defer close(done)
		errLogs = r.logs.Shutdown(ctx)
	}()
	err := r.queue.Shutdown(ctx)
	<-done
	return errors.Join(err, errLogs, r.client.Close(ctx))
}

// exporterReporter queues segments in the same bounded pipeline as grpcReporter, but
// hands the batches to a function ([WithSegmentExporter]) instead of a collector. It
// has no log or meter transport: log records are not reported.
type exporterReporter struct {
	queue *pipeline.Pipeline[*agentv3.SegmentObject]
}

func newExporterReporter(c *config) *exporterReporter {
	return &exporterReporter{queue: pipeline.New(pipeline.Config{
		Name:      "skywalking segments",
		QueueSize: c.queueSize.v,
		Logf:      c.logf,
	}, recycling(c.exporter))}
}

func (r *exporterReporter) report(s *agentv3.SegmentObject) bool { return enqueue(r.queue, s) }
func (r *exporterReporter) reportLog(*logv3.LogData) bool        { return false }
func (r *exporterReporter) sendMeters(context.Context, []*agentv3.MeterData) error {
	return nil
}
func (r *exporterReporter) flush(ctx context.Context) error    { return r.queue.Flush(ctx) }
func (r *exporterReporter) shutdown(ctx context.Context) error { return r.queue.Shutdown(ctx) }
func (r *exporterReporter) stats() pipeline.Stats              { return r.queue.Stats() }
func (r *exporterReporter) logStats() pipeline.Stats           { return pipeline.Stats{} }

// enqueue queues s, or recycles it at once when the queue refuses it.
func enqueue(q *pipeline.Pipeline[*agentv3.SegmentObject], s *agentv3.SegmentObject) bool {
	if q.Enqueue(s) {
		return true
	}
	recycleSegments([]*agentv3.SegmentObject{s})
	return false
}
