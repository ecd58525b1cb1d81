package metrics_test

import "syscall"

// threadCPU returns the CPU time the calling OS thread has used, in nanoseconds: on a
// busy machine it leaves out the time other processes ran.
func threadCPU() (int64, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
