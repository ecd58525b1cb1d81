//go:build !linux

package metrics_test

func threadCPU() (int64, bool) { return 0, false }
