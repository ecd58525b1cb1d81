package oap_test

import (
	"sync"
	"testing"
	"time"

	commonv3 "skywalking.apache.org/repo/goapi/collect/common/v3"

	"github.com/strata-go/strata/internal/oaptest"
	"github.com/strata-go/strata/layers/skywalking/internal/oap"
)

func propMap(pairs []*commonv3.KeyStringValuePair) map[string][]string {
	m := map[string][]string{}
	for _, p := range pairs {
		m[p.Key] = append(m[p.Key], p.Value)
	}
	return m
}

// A property set, replaced or removed after the connect report is reported again at
// once (long before the next heartbeat), with the token, on top of the defaults; a
// removal of a key that is not there reports nothing.
func TestPropertyChangesAreReportedAtOnce(t *testing.T) {
	col := oaptest.Start(t)
	col.RequireToken("tok")
	c := dial(t, oap.Config{Address: col.Addr(), Token: "tok", Heartbeat: time.Hour})
	first := col.WaitProperties(t, 1, 3*time.Second)[0]
	if got := propMap(first.Properties); got["language"][0] != "go" || len(got["OS Name"]) != 1 {
		t.Fatalf("connect report %v lacks the defaults", got)
	}

	if err := c.SetProperty("region", "eu-1"); err != nil {
		t.Fatal(err)
	}
	got := propMap(col.WaitProperties(t, 2, 3*time.Second)[1].Properties)
	if len(got["region"]) != 1 || got["region"][0] != "eu-1" || got["language"][0] != "go" {
		t.Fatalf("after SetProperty: %v", got)
	}

	if err := c.SetProperty("hostname", "renamed"); err != nil {
		t.Fatal(err)
	}
	c.RemoveProperty("ipv4")
	c.RemoveProperty("no such key")
	if err := c.SetProperty("region", "eu-2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last change reported", func() bool {
		ps := col.Properties()
		last := propMap(ps[len(ps)-1].Properties)
		return len(last["region"]) == 1 && last["region"][0] == "eu-2"
	})
	ps := col.Properties()
	last := propMap(ps[len(ps)-1].Properties)
	if len(last["hostname"]) != 1 || last["hostname"][0] != "renamed" || len(last["ipv4"]) != 0 || last["Process No."] == nil {
		t.Errorf("last report %v: want hostname replaced, ipv4 removed, the other defaults kept", last)
	}
	if err := c.SetProperty("", "x"); err == nil {
		t.Error("SetProperty with an empty key succeeded")
	}
	for _, call := range col.Calls() {
		if call.Token != "tok" {
			t.Errorf("%s carried %q", call.Method, call.Token)
		}
	}
	if n := len(col.KeepAlives()); n > 1 {
		t.Errorf("%d keepAlives with an hour's heartbeat, want at most the first", n)
	}
}

// Concurrent changes are safe (run with -race) and the final state is reported.
func TestConcurrentPropertyChanges(t *testing.T) {
	col := oaptest.Start(t)
	c := dial(t, oap.Config{Address: col.Addr(), Heartbeat: time.Hour})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				_ = c.SetProperty("k", "v")
				if i%2 == g%2 {
					c.RemoveProperty("k")
				}
			}
		})
	}
	wg.Wait()
	if err := c.SetProperty("k", "final"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the final value reported", func() bool {
		ps := col.Properties()
		return len(ps) > 0 && propMap(ps[len(ps)-1].Properties)["k"] != nil && propMap(ps[len(ps)-1].Properties)["k"][0] == "final"
	})
	if got := propMap(c.Properties())["k"]; len(got) != 1 || got[0] != "final" {
		t.Errorf("Properties() k = %v", got)
	}
}
