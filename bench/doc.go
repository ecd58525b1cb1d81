// Package bench holds Strata's benchmarks against peer libraries (the OpenTelemetry SDK,
// go2sky, zerolog, zap, slog and VictoriaMetrics used directly), measured in one run.
// See RESULTS.md for the figures and the command that produced them.
package bench
