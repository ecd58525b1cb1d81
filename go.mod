module github.com/strata-go/strata

go 1.26.0

require (
	github.com/VictoriaMetrics/metrics v1.44.0
	github.com/apache/thrift v0.22.0
	github.com/go-logfmt/logfmt v0.6.1
	github.com/jaegertracing/jaeger-idl v0.6.0
	github.com/tinylib/msgp v1.5.0
	go.opentelemetry.io/proto/otlp v1.9.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b
	google.golang.org/grpc v1.76.0
	google.golang.org/protobuf v1.36.12
	skywalking.apache.org/repo/goapi v0.0.0-20250225130248-3916480eb467
)

require (
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
	golang.org/x/net v0.43.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)
