module github.com/strata-go/strata

go 1.26.0

require (
	github.com/VictoriaMetrics/metrics v1.44.0
	github.com/go-logfmt/logfmt v0.6.1
)

require (
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
