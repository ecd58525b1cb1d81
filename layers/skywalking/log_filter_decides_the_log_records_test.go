package skywalking

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/strata-go/strata/layers/filter"
)

// WithLogFilter takes directives like every other filter: INFO from songs/vendor is
// reported, INFO from elsewhere and DEBUG are not, WARN is; nil reports nothing.
func TestLogFilterDecidesTheLogRecords(t *testing.T) {
	dirs, err := filter.Parse("warn,songs/vendor=info")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, WithLogFilter(dirs))
	vendor := f.d.Tracer("songs/vendor")
	ctx := context.Background()
	vendor.Info(ctx, "vendor info")
	vendor.Debug(ctx, "vendor debug")
	f.tr.Info(ctx, "other info")
	f.tr.Warn(ctx, "other warn")
	var got []string
	for _, ld := range f.rep.logRecords() {
		got = append(got, ld.GetBody().GetText().GetText())
	}
	if len(got) != 2 || got[0] != "vendor info" || got[1] != "other warn" {
		t.Errorf("log records %q, want [vendor info, other warn]", got)
	}

	none := newFixture(t, WithLogFilter(nil))
	none.tr.Error(ctx, "not reported")
	if n := len(none.rep.logRecords()); n != 0 {
		t.Errorf("%d log records with a nil filter, want 0", n)
	}
}

// WithLogJSONBody: the body is a JSON object of the message and the fields, numbers
// kept as numbers, and a field named message does not replace the message.
func TestLogJSONBodyHoldsMessageAndFields(t *testing.T) {
	f := newFixture(t, WithLogJSONBody())
	f.tr.Warn(context.Background(), "say \"hi\"\n", slog.Int("n", 7), slog.String("who", "ann"),
		slog.Bool("ok", true), slog.String("message", "impostor"))
	logs := f.rep.logRecords()
	if len(logs) != 1 {
		t.Fatalf("%d log records, want 1", len(logs))
	}
	body := logs[0].GetBody()
	if body.GetType() != "json" || body.GetJson() == nil {
		t.Fatalf("body %v, want a json body", body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body.GetJson().GetJson()), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body.GetJson().GetJson(), err)
	}
	if m["message"] != "say \"hi\"\n" || m["n"] != float64(7) || m["who"] != "ann" || m["ok"] != true || len(m) != 4 {
		t.Errorf("body %v", m)
	}
}
