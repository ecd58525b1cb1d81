package oap

import (
	"net"
	"os"
	"runtime"
	"strconv"

	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
)

// DefaultProperties returns the instance properties other SkyWalking agents report,
// under the same keys: "hostname", one "ipv4" pair per non-loopback IPv4 address (the
// loopback ones when there is no other), "OS Name" (runtime.GOOS), "Process No." (the
// process id) and "language" = "go". A value that cannot be found (no hostname) is
// left out.
func DefaultProperties() []*commonv3.KeyStringValuePair {
	var props []*commonv3.KeyStringValuePair
	add := func(k, v string) {
		props = append(props, &commonv3.KeyStringValuePair{Key: k, Value: v})
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		add("hostname", h)
	}
	for _, ip := range ipv4Addresses() {
		add("ipv4", ip)
	}
	add("OS Name", runtime.GOOS)
	add("Process No.", strconv.Itoa(os.Getpid()))
	add("language", "go")
	return props
}

// ipv4Addresses returns the host's non-loopback IPv4 addresses, or its loopback ones
// when it has no other.
func ipv4Addresses() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips, loopback []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := n.IP.To4()
		if ip == nil {
			continue
		}
		if ip.IsLoopback() {
			loopback = append(loopback, ip.String())
		} else {
			ips = append(ips, ip.String())
		}
	}
	if len(ips) == 0 {
		return loopback
	}
	return ips
}

// mergeProperties returns defaults followed by extra, leaving out the defaults whose key
// extra has (so a caller can replace "hostname", or all the "ipv4" pairs).
func mergeProperties(defaults, extra []*commonv3.KeyStringValuePair) []*commonv3.KeyStringValuePair {
	given := make(map[string]bool, len(extra))
	for _, p := range extra {
		if p != nil {
			given[p.Key] = true
		}
	}
	out := make([]*commonv3.KeyStringValuePair, 0, len(defaults)+len(extra))
	for _, p := range defaults {
		if !given[p.Key] {
			out = append(out, p)
		}
	}
	for _, p := range extra {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}
