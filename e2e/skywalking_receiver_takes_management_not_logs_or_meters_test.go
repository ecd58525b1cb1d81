package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/layers/metrics"
	"github.com/strata-go/strata/layers/skywalking"
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// What the contrib SkyWalking receiver does with everything Strata reports besides
// segments, recorded rather than hidden:
//   - ManagementService (reportInstanceProperties, keepAlive): accepted; the layer logs no
//     error for them.
//   - LogReportService: not registered; log records fail with Unimplemented, are counted
//     as failed, and Shutdown says so.
//   - MeterReportService: a stub that returns without reading; meter reports fail and are
//     counted.
func TestReceiverAcceptsManagementCallsAndRefusesLogsAndMeters(t *testing.T) {
	col := startSWCollector(t)
	var mu sync.Mutex
	var logged []string
	met := metrics.New()
	sw, err := skywalking.New(
		skywalking.WithService("e2e-management"),
		skywalking.WithCollector(col.Addr),
		skywalking.WithHeartbeat(50*time.Millisecond),
		skywalking.WithMeters(met, 0),
		skywalking.WithLogf(func(format string, args ...any) {
			mu.Lock()
			logged = append(logged, fmt.Sprintf(format, args...))
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	sw.SetProperty("team", "songs")
	d := subscriber.MustNew(storage.New(), met, sw)
	tr := d.Tracer("e2e")
	ctx, span := tr.Start(context.Background(), "work", slog.String("metric_name", "work"))
	tr.Warn(ctx, "slow", slog.Int("ms", 1500)) // a log record (WARN and above by default)
	span.End()
	col.WaitSpans(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // a few keep-alives on the 50ms heartbeat

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdownErr := d.Shutdown(sctx)
	st := sw.Stats()
	t.Logf("receiver is the contrib receiver itself: %v; Shutdown: %v", col.Receiver, shutdownErr)
	t.Logf("segments sent %d; log records sent %d, failed %d; meter reports %d, failed %d",
		st.Sent, st.LogRecordsSent, st.LogRecordsFailed, st.MeterReports, st.MeterReportsFailed)

	mu.Lock()
	defer mu.Unlock()
	for _, l := range logged {
		t.Logf("layer logged: %s", l)
		if strings.Contains(l, "instance properties") || strings.Contains(l, "keepAlive") {
			t.Errorf("a management call failed against the receiver: %s", l)
		}
	}
	if st.Sent != 1 {
		t.Errorf("segments sent = %d, want 1", st.Sent)
	}
	if st.LogRecordsSent != 0 || st.LogRecordsFailed != 1 {
		t.Errorf("log records sent %d, failed %d; the receiver has no log service, want 0 and 1", st.LogRecordsSent, st.LogRecordsFailed)
	}
	if st.MeterReports != 0 || st.MeterReportsFailed == 0 {
		t.Errorf("meter reports accepted %d, failed %d; the receiver's meter service is a stub, want 0 and at least 1", st.MeterReports, st.MeterReportsFailed)
	}
	if shutdownErr == nil {
		t.Error("Shutdown returned nil although log records could not be delivered: the loss must be said")
	}
}
