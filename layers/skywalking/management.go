package skywalking

import "errors"

// SetProperty sets an instance property: it adds key, or replaces the pairs with that
// key, the predefined ones ("hostname", "ipv4", "OS Name", "Process No.", "language")
// included. The instance properties are reported again as soon as the connection is
// ready, and on every reconnect. An empty key is an error. Safe for concurrent use.
//
//	sw.SetProperty("region", "eu-west-1")
func (l *Layer) SetProperty(key, value string) error {
	if key == "" {
		return errors.New("skywalking: SetProperty: empty property key")
	}
	if r, ok := l.rep.(*grpcReporter); ok {
		return r.client.SetProperty(key, value)
	}
	return nil
}

// RemoveProperty removes the instance property pairs with key, predefined ones included
// (RemoveProperty("ipv4") keeps the host's addresses to itself), and reports the
// properties again. A key that is not there changes nothing. Safe for concurrent use.
func (l *Layer) RemoveProperty(key string) {
	if r, ok := l.rep.(*grpcReporter); ok {
		r.client.RemoveProperty(key)
	}
}
