package subscriber

import (
	"fmt"
	"reflect"
	"strings"
)

// hookMethods are the method names the dispatch looks for, with the interface each must
// satisfy. A method with one of these names but another signature would be silently
// ignored; New reports it instead.
var hookMethods = []struct {
	name  string
	iface reflect.Type
}{
	{"OnNewSpan", reflect.TypeFor[NewSpanHook]()},
	{"OnRecord", reflect.TypeFor[RecordHook]()},
	{"OnFollowsFrom", reflect.TypeFor[FollowsFromHook]()},
	{"OnEvent", reflect.TypeFor[EventHook]()},
	{"OnEnter", reflect.TypeFor[EnterHook]()},
	{"OnExit", reflect.TypeFor[ExitHook]()},
	{"OnClose", reflect.TypeFor[CloseHook]()},
	{"Enabled", reflect.TypeFor[Enabler]()},
	{"WantsLocation", reflect.TypeFor[LocationWanter]()},
	{"WantsSpanLocation", reflect.TypeFor[SpanLocationWanter]()},
	{"ServesOthers", reflect.TypeFor[Serving]()},
	{"WantedFields", reflect.TypeFor[FieldWanter]()},
}

// checkHookNames reports a method of l that is named like a hook but would never be
// called: a known hook name with another signature (OnClose(SpanRef, error)), or an
// On... name one or two letters away from a hook's (OnClosed, OnNewspan).
func checkHookNames(l Layer) error {
	t := reflect.TypeOf(l)
	for i := 0; i < t.NumMethod(); i++ {
		name := t.Method(i).Name
		exact := false
		for _, h := range hookMethods {
			if name == h.name {
				exact = true
				if !t.Implements(h.iface) {
					want, _ := h.iface.MethodByName(h.name)
					return fmt.Errorf("method %s has the signature %s%s, but the hook is %s%s: the dispatch would never call it",
						name, name, signature(t.Method(i).Type, 1), name, signature(want.Type, 0))
				}
			}
		}
		if exact || !strings.HasPrefix(name, "On") {
			continue
		}
		for _, h := range hookMethods {
			if strings.HasPrefix(h.name, "On") && editDistance(strings.ToLower(name), strings.ToLower(h.name)) <= 2 {
				return fmt.Errorf("method %s is not a hook: did you mean %s? The dispatch would never call it", name, h.name)
			}
		}
	}
	return nil
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// signature formats a func type's parameters and results, leaving out the first skip
// parameters (the receiver of a method value from reflect.Type.Method).
func signature(f reflect.Type, skip int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := skip; i < f.NumIn(); i++ {
		if i > skip {
			b.WriteString(", ")
		}
		b.WriteString(f.In(i).String())
	}
	b.WriteByte(')')
	switch f.NumOut() {
	case 0:
	case 1:
		b.WriteString(" " + f.Out(0).String())
	default:
		b.WriteString(" (")
		for i := 0; i < f.NumOut(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Out(i).String())
		}
		b.WriteByte(')')
	}
	return b.String()
}
