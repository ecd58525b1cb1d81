package subscriber_test

import (
	"strings"
	"testing"

	"github.com/strata-go/strata/subscriber"
)

type closedLayer struct{ counter }

func (*closedLayer) OnClosed(subscriber.SpanRef) {}

type errorCloser struct{}

func (errorCloser) OnClose(subscriber.SpanRef, error) {}

type lowercaseNewspan struct{}

func (lowercaseNewspan) OnNewspan(subscriber.SpanRef) {}
func (lowercaseNewspan) OnEvent(*subscriber.Event)    {}

type wrongEnabled struct{ counter }

func (*wrongEnabled) Enabled(subscriber.Level) bool { return true }

// A method named like a hook but with another name or signature would never be called;
// New says so instead of composing a layer that silently sees nothing.
func TestNewRejectsMethodsNamedLikeHooksThatAreNotHooks(t *testing.T) {
	for _, tc := range []struct {
		layer subscriber.Layer
		want  []string
	}{
		{&closedLayer{}, []string{"OnClosed", "did you mean OnClose"}},
		{errorCloser{}, []string{"OnClose", "(subscriber.SpanRef, error)", "never call it"}},
		{lowercaseNewspan{}, []string{"OnNewspan", "OnNewSpan"}},
		{&wrongEnabled{}, []string{"Enabled", "(subscriber.Level) bool"}},
		{subscriber.WithFilter(&closedLayer{}, levelFilter(subscriber.LevelInfo)), []string{"OnClosed"}},
	} {
		_, err := subscriber.New(&counter{}, tc.layer)
		if err == nil {
			t.Errorf("New(%T) succeeded, want an error", tc.layer)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%T) error %q does not mention %q", tc.layer, err, w)
			}
		}
	}
	// Real hooks, and On... names far from every hook, compose.
	if _, err := subscriber.New(&counter{}, &onErrorConfig{}); err != nil {
		t.Errorf("a layer with an unrelated OnError method was rejected: %v", err)
	}
}

type onErrorConfig struct{ counter }

func (*onErrorConfig) OnFailure(func(error)) {}
