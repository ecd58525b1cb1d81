package skywalking

import (
	"context"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/subscriber"
	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"
)

func propValues(pairs []*commonv3.KeyStringValuePair) map[string][]string {
	m := map[string][]string{}
	for _, p := range pairs {
		m[p.Key] = append(m[p.Key], p.Value)
	}
	return m
}

// The instance reports its predefined properties on connect and again with each of the
// user's changes, sends keepAlive on the heartbeat period, and every call carries the
// token.
func TestInstancePropertiesWithUserChangesAndKeepAlives(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("secret")
	const beat = 100 * time.Millisecond
	l, err := New(WithService("songs"), WithInstance("songs-1"), WithCollector(col.Addr()),
		WithAuthentication("secret"), WithHeartbeat(beat), WithLogf(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	d := subscriber.MustNew(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	first := propValues(col.WaitProperties(t, 1, 5*time.Second)[0].Properties)
	for _, k := range []string{"OS Name", "Process No.", "language"} {
		if len(first[k]) != 1 {
			t.Errorf("connect report lacks %q: %v", k, first)
		}
	}

	if err := l.SetProperty("region", "eu-1"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetProperty("language", "go1.26"); err != nil {
		t.Fatal(err)
	}
	l.RemoveProperty("Process No.")
	if err := l.SetProperty("", "x"); err == nil {
		t.Error("SetProperty with an empty key succeeded")
	}
	var last map[string][]string
	if !waitUntil(5*time.Second, func() bool {
		ps := col.Properties()
		last = propValues(ps[len(ps)-1].Properties)
		return last["Process No."] == nil && len(last["region"]) == 1 && len(last["language"]) == 1 && last["language"][0] == "go1.26"
	}) {
		t.Fatalf("the user's changes never arrived; last report %v", last)
	}
	if last["OS Name"] == nil {
		t.Errorf("the unchanged predefined properties were lost: %v", last)
	}

	// keepAlives on the period: about one per heartbeat, not a burst and not silence.
	n0 := len(col.KeepAlives())
	time.Sleep(10 * beat)
	if n := len(col.KeepAlives()) - n0; n < 3 || n > 15 {
		t.Errorf("%d keepAlives in 10 heartbeats", n)
	}
	for _, ka := range col.KeepAlives() {
		if ka.Service != "songs" || ka.ServiceInstance != "songs-1" {
			t.Errorf("keepAlive %v", ka)
		}
	}
	for _, c := range col.Calls() {
		if c.Token != "secret" {
			t.Errorf("%s carried authentication %q, want secret", c.Method, c.Token)
		}
	}
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
