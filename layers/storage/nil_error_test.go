package storage_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// nilErr is a typed nil pointer that implements error: an interface comparison with nil
// misses it.
type nilErr struct{}

func (*nilErr) Error() string { return "never" }

// nilErrorValues are error fields that name no error.
func nilErrorValues() map[string]slog.Attr {
	var typed *nilErr
	var iface error
	return map[string]slog.Attr{
		"nil":            slog.Any("error", nil),
		"nil error":      slog.Any("error", iface),
		"typed nil":      slog.Any("error", typed),
		"empty string":   slog.String("error", ""),
		"empty message":  slog.String("error.message", ""),
		"false":          slog.Bool("error", false),
		"nil error_type": slog.Any("error_type", nil),
	}
}

func TestNilErrorFieldOnEventDoesNotMarkSpanFailed(t *testing.T) {
	for name, attr := range nilErrorValues() {
		t.Run(name, func(t *testing.T) {
			hasErr := true
			var fields []string
			p := &probe{onClose: func(span subscriber.SpanRef) {
				hasErr = storage.HasError(span)
				fields = visible(span)
			}}
			tr := compose(t, p)
			ctx, s := tr.Start(context.Background(), "op", slog.String("peer", "lastfm"))
			tr.Info(ctx, "call done", attr)
			s.End()
			if hasErr {
				t.Errorf("HasError = true after an event with %s=%v: a nil or empty error is no error", attr.Key, attr.Value)
			}
			// Not kept either: the close line would otherwise show an error field.
			if want := []string{"peer=lastfm"}; !slices.Equal(fields, want) {
				t.Errorf("span fields = %q, want %q (an empty error field from an event is not kept)", fields, want)
			}
		})
	}
}

func TestNilErrorFieldRecordedOrAtStartDoesNotMarkSpanFailed(t *testing.T) {
	for name, attr := range nilErrorValues() {
		t.Run(name, func(t *testing.T) {
			var atStart, recorded bool
			var recordedField bool
			p := &probe{onClose: func(span subscriber.SpanRef) {
				switch span.Name() {
				case "start":
					atStart = storage.HasError(span)
				case "record":
					recorded = storage.HasError(span)
					_, recordedField = storage.Lookup(span, attr.Key)
				}
			}}
			tr := compose(t, p)
			_, s := tr.Start(context.Background(), "start", attr)
			s.End()
			_, s = tr.Start(context.Background(), "record")
			s.Record(attr)
			s.End()
			if atStart {
				t.Errorf("HasError = true for a span started with %s=%v", attr.Key, attr.Value)
			}
			if recorded {
				t.Errorf("HasError = true for a span that recorded %s=%v", attr.Key, attr.Value)
			}
			// The user set the field on the span: it stays a field, it just is no error.
			if !recordedField {
				t.Errorf("recorded field %s is not visible", attr.Key)
			}
		})
	}
}

func TestErrorFieldWithValueStillMarksSpanFailed(t *testing.T) {
	got := map[string]bool{}
	p := &probe{onClose: func(span subscriber.SpanRef) { got[span.Name()] = storage.HasError(span) }}
	tr := compose(t, p)
	ctx, ev := tr.Start(context.Background(), "event")
	tr.Error(ctx, "failed", slog.Any("error", errors.New("boom")))
	ev.End()
	_, rec := tr.Start(context.Background(), "record")
	rec.Record(slog.String("error_msg", "timeout"))
	rec.End()
	_, st := tr.Start(context.Background(), "start", slog.Bool("error", true))
	st.End()
	for _, name := range []string{"event", "record", "start"} {
		if !got[name] {
			t.Errorf("HasError = false for span %q with a non-empty error field", name)
		}
	}
}
