// Package oap is the SkyWalking layer's gRPC client for an OAP server (or any collector
// speaking the SkyWalking v3 protocol, such as the OpenTelemetry Collector's skywalking
// receiver).
//
// [Dial] prepares one lazily connected gRPC connection (grpc.NewClient: nothing blocks
// on a collector that is down) and starts a management goroutine that follows the
// connection's state: each time the connection becomes ready, the first time and after
// every reconnect, it reports the instance properties (ReportInstanceProperties, with
// [DefaultProperties]), and while it is ready it sends keepAlive every heartbeat (30s
// by default, as the other agents do). [Client.Close] stops it.
//
// [Client.SendSegments] sends one batch of segments on one
// TraceSegmentReportService.Collect client stream. Its errors tell a
// [pipeline.Pipeline] what became of the batch: wrapped with [pipeline.Retry] when the
// collector received none of it (the stream could not be opened, or the connection was
// not up for the first segment), so the pipeline sends it again after a backoff; plain
// when some of it may have arrived, so it is counted as lost rather than duplicated:
//
//	client, err := oap.Dial(oap.Config{Address: "oap:11800", Service: "songs", Instance: "songs-1"})
//	p := pipeline.New(pipeline.Config{Name: "skywalking segments"},
//		pipeline.SenderFunc[*agentv3.SegmentObject](client.SendSegments))
//	...
//	p.Shutdown(ctx)    // delivers what is queued
//	client.Close(ctx)  // then closes the connection
//
// [Client.SendLogs] and [Client.SendMeters] do the same for LogReportService and
// MeterReportService (one stream per meter report). [Client.SetProperty] and
// [Client.RemoveProperty] change the instance properties from any goroutine; the
// management goroutine reports them again at once when the connection is ready.
//
// Every call carries Config.Token as the "authentication" metadata key when it is set.
// The connection is plaintext unless Config.TLS is given. gRPC reconnects on its own,
// from half a second up to every 10 seconds while the collector is down; errors are
// logged at most once per kind every 30 seconds.
package oap
