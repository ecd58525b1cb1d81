//go:build !race

package skywalking

const raceEnabled = false
