//go:build !race

package logfmt_test

const raceEnabled = false
