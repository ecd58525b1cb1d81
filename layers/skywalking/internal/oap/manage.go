package oap

import (
	"context"
	"time"

	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// manage is the management goroutine: it keeps the connection up, reports the
// instance properties each time the connection becomes ready, and sends keepAlive every
// heartbeat while it is ready. It follows the connection's state with gRPC's
// connectivity API, so it wakes on a state change or a heartbeat, never polls.
func (c *Client) manage() {
	defer close(c.exited)
	reported := false      // the properties were reported on the current connection
	var nextBeat time.Time // zero: keepAlive as soon as the properties are reported
	for {
		state := c.conn.GetState()
		switch state {
		case connectivity.Idle:
			// Nothing connects an idle channel but a call: connect now, so the
			// properties go out on connect and a collector that restarted hears from
			// this instance without waiting for a span.
			reported = false
			c.conn.Connect()
		case connectivity.Connecting:
		case connectivity.TransientFailure:
			reported = false
			c.log.Logf("connect", "skywalking: collector %s unreachable, reconnecting", c.addr)
		case connectivity.Shutdown:
			return
		case connectivity.Ready:
			if c.needReport.Swap(false) {
				reported = false
			}
			if c.propsDirty.Swap(false) {
				reported = false
			}
			if !reported {
				reported = c.reportProperties()
				if reported && nextBeat.IsZero() {
					nextBeat = time.Now() // the first keepAlive right after
				}
			}
			if reported && !time.Now().Before(nextBeat) {
				c.keepAlive()
				nextBeat = time.Now().Add(c.heartbeat)
			}
		}

		// Wait for a state change, or for the next heartbeat (the next properties
		// attempt when they failed).
		wake := nextBeat
		if wake.IsZero() || !reported {
			wake = time.Now().Add(c.heartbeat)
		}
		// SetProperty and RemoveProperty cut the wait short.
		ctx, cancel := context.WithDeadline(c.ctx, wake)
		c.propsMu.Lock()
		c.wake = cancel
		// Only a ready connection reports; otherwise becoming ready will.
		changed := state == connectivity.Ready && c.propsDirty.Load()
		c.propsMu.Unlock()
		if !changed {
			c.conn.WaitForStateChange(ctx, state)
		}
		cancel()
		if c.ctx.Err() != nil {
			return
		}
	}
}

// reportProperties reports the instance properties and says whether the collector
// took them.
func (c *Client) reportProperties() bool {
	ctx, cancel := context.WithTimeout(c.withToken(c.ctx), callTimeout)
	defer cancel()
	c.propsMu.Lock()
	props := c.props
	c.propsMu.Unlock()
	if _, err := c.mgmt.ReportInstanceProperties(ctx, props); err != nil {
		if c.ctx.Err() == nil {
			c.log.Logf("properties", "skywalking: report instance properties to %s: %v", c.addr, describe(err))
		}
		return false
	}
	return true
}

// keepAlive sends one keepAlive; a failure for want of a connection makes the next
// ready state report the properties again.
func (c *Client) keepAlive() {
	ctx, cancel := context.WithTimeout(c.withToken(c.ctx), callTimeout)
	defer cancel()
	if _, err := c.mgmt.KeepAlive(ctx, c.ping); err != nil {
		c.lostConnection(err)
		if c.ctx.Err() == nil {
			c.log.Logf("keepalive", "skywalking: keepAlive to %s: %v", c.addr, describe(err))
		}
	}
}

// describe returns a gRPC error's code and message.
func describe(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}
