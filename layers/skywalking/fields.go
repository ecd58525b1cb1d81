package skywalking

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/strata-go/strata/subscriber"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
	agentv3 "skywalking.apache.org/repo/goapi/collect/language/agent/v3"
)

// startInfo is what a span's start fields say about its SkyWalking form.
type startInfo struct {
	name string
	kind agentv3.SpanType
}

// startOf reads the operation name (the span name, or an otel.name field) and the span
// type (from otel.kind) from a span's start fields.
func startOf(span subscriber.SpanRef, fields []slog.Attr) startInfo {
	st := startInfo{name: span.Name(), kind: agentv3.SpanType_Local}
	for i := range fields {
		switch fields[i].Key {
		case "otel.kind":
			st.kind = spanType(fields[i].Value)
		case "otel.name":
			if s := fields[i].Value.String(); s != "" {
				st.name = s
			}
		}
	}
	return st
}

// spanType maps an otel.kind value: server and consumer are Entry spans, client and
// producer Exit spans, anything else Local.
func spanType(v slog.Value) agentv3.SpanType {
	s := v.String()
	switch {
	case strings.EqualFold(s, "server"), strings.EqualFold(s, "consumer"):
		return agentv3.SpanType_Entry
	case strings.EqualFold(s, "client"), strings.EqualFold(s, "producer"):
		return agentv3.SpanType_Exit
	}
	return agentv3.SpanType_Local
}

// closeInfo is the SkyWalking form of a span's own fields at its end.
type closeInfo struct {
	name      string // from otel.name, "" when absent
	kind      agentv3.SpanType
	kindSet   bool
	layer     agentv3.SpanLayer
	component int32
	peer      string
	isError   bool
	tags      []*commonv3.KeyStringValuePair
}

// Keys with a meaning of their own, left out of the tags.
const (
	keyPeer      = "peer"
	keyComponent = "sw.component"
)

// isTag reports whether a field becomes a tag: not the internal metric_* and otel.* keys,
// nor the keys mapped to the span's own properties.
func isTag(k string) bool {
	switch {
	case strings.HasPrefix(k, "metric_"), strings.HasPrefix(k, "otel."):
		return false
	case k == keyPeer, k == keyComponent:
		return false
	}
	return k != ""
}

// isErrorKey reports whether k is one of the error fields storage also reads.
func isErrorKey(k string) bool {
	switch k {
	case "error", "error.message", "error.type", "error_msg", "error_stack", "error_type":
		return true
	}
	return false
}

// closeOf maps a span's own fields. start is the span type its start fields gave; the
// tags are made in mem, the segment's memory.
func (l *Layer) closeOf(fields []slog.Attr, start agentv3.SpanType, mem *segData) closeInfo {
	ci := closeInfo{kind: start}
	var (
		ntags                     int
		httpStatus                int64
		isHTTP, isDB, isRPC, isMQ bool
		isCache, isGRPC           bool
		serverAddr, serverPort    string
		netPeerName, netPeerPort  string
		componentSet              bool
		ruleIdx                   = len(l.fieldRules)
		ruleID                    int32
	)
	for i := range fields {
		k, v := fields[i].Key, fields[i].Value
		if isTag(k) {
			ntags++
		}
		switch {
		case k == "otel.kind":
			ci.kind, ci.kindSet = spanType(v), true
		case k == "otel.name":
			ci.name = v.String()
		case k == "otel.status_code":
			if strings.EqualFold(v.String(), "error") {
				ci.isError = true
			}
		case k == keyPeer:
			ci.peer = v.String()
		case k == keyComponent:
			if n, ok := intValue(v); ok && n >= 0 && n <= 1<<31-1 {
				ci.component, componentSet = int32(n), true
			}
		case isErrorKey(k):
			if subscriber.IsErrorValue(v) {
				ci.isError = true
			}
		case k == "http.status_code" || k == "http.response.status_code":
			isHTTP = true
			if n, ok := intValue(v); ok {
				httpStatus = n
			}
		case strings.HasPrefix(k, "http."):
			isHTTP = true
		case k == "db.system":
			isDB = true
		case k == "rpc.system":
			isRPC = true
			isGRPC = strings.EqualFold(v.String(), "grpc")
		case k == "messaging.system":
			isMQ = true
		case strings.HasPrefix(k, "cache."):
			isCache = true
		case k == "server.address":
			serverAddr = v.String()
		case k == "server.port":
			serverPort = v.String()
		case k == "net.peer.name":
			netPeerName = v.String()
		case k == "net.peer.port":
			netPeerPort = v.String()
		}
		for r := 0; r < ruleIdx; r++ {
			if rule := &l.fieldRules[r]; rule.key == k && v.String() == rule.val {
				ruleIdx, ruleID = r, rule.id
				break
			}
		}
	}
	switch {
	case isDB:
		ci.layer = agentv3.SpanLayer_Database
	case isCache:
		ci.layer = agentv3.SpanLayer_Cache
	case isMQ:
		ci.layer = agentv3.SpanLayer_MQ
	case isRPC:
		ci.layer = agentv3.SpanLayer_RPCFramework
	case isHTTP:
		ci.layer = agentv3.SpanLayer_Http
	}
	if ci.kind == agentv3.SpanType_Entry && httpStatus >= 500 {
		ci.isError = true
	}
	if !componentSet {
		switch {
		case ruleIdx < len(l.fieldRules):
			ci.component = ruleID
		case isGRPC:
			ci.component = l.compGRPC
		case ci.layer == agentv3.SpanLayer_Http && ci.kind == agentv3.SpanType_Entry:
			ci.component = l.compHTTPServer
		case ci.layer == agentv3.SpanLayer_Http && ci.kind == agentv3.SpanType_Exit:
			ci.component = l.compHTTPClient
		}
	}
	if ci.peer == "" && ci.kind == agentv3.SpanType_Exit {
		switch {
		case serverAddr != "":
			ci.peer = joinHostPort(serverAddr, serverPort)
		case netPeerName != "":
			ci.peer = joinHostPort(netPeerName, netPeerPort)
		}
	}
	if ci.kind != agentv3.SpanType_Exit {
		ci.peer = ""
	}
	if ntags > 0 {
		var kv []commonv3.KeyStringValuePair
		kv, ci.tags = mem.tags(ntags)
		j := 0
		for i := range fields {
			if isTag(fields[i].Key) {
				kv[j].Key, kv[j].Value = fields[i].Key, valueString(fields[i].Value)
				ci.tags[j] = &kv[j]
				j++
			}
		}
	}
	return ci
}

// peerOf is the address an exit span calls: its peer field, else server.address and
// server.port, else net.peer.name and net.peer.port.
func peerOf(span subscriber.SpanRef) string {
	if v, ok := span.Field(keyPeer); ok {
		if s := v.String(); s != "" {
			return s
		}
	}
	for _, kp := range [...][2]string{{"server.address", "server.port"}, {"net.peer.name", "net.peer.port"}} {
		if h, ok := span.Field(kp[0]); ok && h.String() != "" {
			p, _ := span.Field(kp[1])
			port := ""
			if p.Kind() != slog.KindAny || p.Any() != nil {
				port = p.String()
			}
			return joinHostPort(h.String(), port)
		}
	}
	return ""
}

func joinHostPort(host, port string) string {
	if port == "" {
		return host
	}
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

func intValue(v slog.Value) (int64, bool) {
	switch v.Kind() {
	case slog.KindInt64:
		return v.Int64(), true
	case slog.KindUint64:
		if u := v.Uint64(); u <= 1<<63-1 {
			return int64(u), true
		}
	case slog.KindFloat64:
		return int64(v.Float64()), true
	case slog.KindString:
		n, err := strconv.ParseInt(strings.TrimSpace(v.String()), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// valueString is a field value as a tag value.
func valueString(v slog.Value) string {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		if v.Bool() {
			return "true"
		}
		return "false"
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case string:
			return x
		case []byte:
			return string(x)
		case nil:
			return ""
		}
		// fmt calls Error and String, and survives one that panics on a nil receiver.
		return fmt.Sprint(v.Any())
	}
	return v.String()
}
