package skywalking

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/strata-go/strata/layers/metrics"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// DefaultMeterPeriod is how often the layer reports the metrics layer's series as
// meters, as the Java agent does by default; see [WithMeters].
const DefaultMeterPeriod = 20 * time.Second

// meterSendTimeout bounds one periodic meter report.
const meterSendTimeout = 10 * time.Second

// meterLoop reports the meters every period until Shutdown, which sends the last report
// itself.
func (l *Layer) meterLoop(period time.Duration) {
	defer close(l.metered)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), min(period, meterSendTimeout))
			if err := l.reportMeters(ctx); err != nil {
				l.logLimit.Logf("meters", "%v", err)
			}
			cancel()
		}
	}
}

// reportMeters sends one report of every series of the metrics layer, on one
// MeterReportService.collect stream: counters and gauges as single values, histograms
// with their buckets' lower bounds, as the protocol defines them.
func (l *Layer) reportMeters(ctx context.Context) error {
	data := l.meterData()
	if len(data) == 0 {
		return nil
	}
	if err := l.rep.sendMeters(ctx, data); err != nil {
		l.meterReportsFailed.Add(1)
		return fmt.Errorf("skywalking: meter report of %d series: %w", len(data), err)
	}
	l.meterReports.Add(1)
	l.metersSent.Add(uint64(len(data)))
	return nil
}

// meterData is the current value of every series of the metrics layer, the first item
// carrying the service, instance and time of the report.
func (l *Layer) meterData() []*agentv3.MeterData {
	var out []*agentv3.MeterData
	l.meterSrc.Visit(func(s *metrics.Series) {
		labels := make([]*agentv3.Label, len(s.Labels))
		for i, lb := range s.Labels {
			labels[i] = &agentv3.Label{Name: lb.Name, Value: lb.Value}
		}
		md := &agentv3.MeterData{}
		switch s.Kind {
		case metrics.KindCounter, metrics.KindGauge:
			v := s.Value
			if math.IsNaN(v) || math.IsInf(v, 0) {
				l.metersInvalid.Add(1)
				return // a gauge function's nonsense is not a measurement
			}
			md.Metric = &agentv3.MeterData_SingleValue{SingleValue: &agentv3.MeterSingleValue{Name: s.Name, Labels: labels, Value: v}}
		case metrics.KindHistogram:
			md.Metric = &agentv3.MeterData_Histogram{Histogram: &agentv3.MeterHistogram{Name: s.Name, Labels: labels, Values: meterBuckets(s.Buckets)}}
		default:
			return
		}
		out = append(out, md)
	})
	if len(out) > 0 {
		out[0].Service = l.service
		out[0].ServiceInstance = l.instance
		out[0].Timestamp = time.Now().UnixMilli()
	}
	return out
}

// meterBuckets turns buckets known by their upper bounds into SkyWalking's, known by
// their lower bounds: the first bucket (everything up to the first upper bound) starts
// at negative infinity, and each next one at the previous upper bound; the last one,
// from the last finite bound, has no upper bound, which the protocol implies.
func meterBuckets(b []metrics.Bucket) []*agentv3.MeterBucketValue {
	vals := make([]agentv3.MeterBucketValue, len(b))
	out := make([]*agentv3.MeterBucketValue, len(b))
	for i := range b {
		if i == 0 {
			vals[i] = agentv3.MeterBucketValue{Bucket: math.Inf(-1), IsNegativeInfinity: true, Count: int64(b[i].Count)}
		} else {
			vals[i] = agentv3.MeterBucketValue{Bucket: b[i-1].UpperBound, Count: int64(b[i].Count)}
		}
		out[i] = &vals[i]
	}
	return out
}
