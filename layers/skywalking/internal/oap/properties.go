package oap

import (
	"errors"
	"net"
	"os"
	"runtime"
	"strconv"

	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	managementv3 "skywalking.apache.org/repo/goapi/collect/management/v3"
)

// SetProperty sets the instance property key to value: it replaces the pairs with that
// key (a default such as "hostname", or every "ipv4" pair) or adds one, and makes the
// management goroutine report the properties again as soon as the connection is ready.
// An empty key is an error. Safe for concurrent use.
func (c *Client) SetProperty(key, value string) error {
	if key == "" {
		return errors.New("skywalking: SetProperty: empty property key")
	}
	c.changeProperties(func(old []*commonv3.KeyStringValuePair) []*commonv3.KeyStringValuePair {
		out := make([]*commonv3.KeyStringValuePair, 0, len(old)+1)
		done := false
		for _, p := range old {
			switch {
			case p.Key != key:
				out = append(out, p)
			case !done:
				out = append(out, &commonv3.KeyStringValuePair{Key: key, Value: value})
				done = true
			}
		}
		if !done {
			out = append(out, &commonv3.KeyStringValuePair{Key: key, Value: value})
		}
		return out
	})
	return nil
}

// RemoveProperty removes every instance property pair with key, a default one included,
// and has the properties reported again. Removing a key that is not there changes
// nothing and reports nothing. Safe for concurrent use.
func (c *Client) RemoveProperty(key string) {
	c.changeProperties(func(old []*commonv3.KeyStringValuePair) []*commonv3.KeyStringValuePair {
		out := make([]*commonv3.KeyStringValuePair, 0, len(old))
		for _, p := range old {
			if p.Key != key {
				out = append(out, p)
			}
		}
		if len(out) == len(old) {
			return nil
		}
		return out
	})
}

// Properties returns the instance properties as they will be reported next.
func (c *Client) Properties() []*commonv3.KeyStringValuePair {
	c.propsMu.Lock()
	defer c.propsMu.Unlock()
	out := make([]*commonv3.KeyStringValuePair, len(c.props.Properties))
	for i, p := range c.props.Properties {
		out[i] = &commonv3.KeyStringValuePair{Key: p.Key, Value: p.Value}
	}
	return out
}

// changeProperties replaces the properties with change's result (nil: no change) and
// wakes the management goroutine to report them.
func (c *Client) changeProperties(change func([]*commonv3.KeyStringValuePair) []*commonv3.KeyStringValuePair) {
	c.propsMu.Lock()
	defer c.propsMu.Unlock()
	next := change(c.props.Properties)
	if next == nil {
		return
	}
	c.props = &managementv3.InstanceProperties{
		Service:         c.props.Service,
		ServiceInstance: c.props.ServiceInstance,
		Layer:           c.props.Layer,
		Properties:      next,
	}
	c.propsDirty.Store(true)
	if c.wake != nil {
		c.wake()
	}
}

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
