package metrics

import (
	"github.com/strata-go/strata/layers/storage"
	"github.com/strata-go/strata/subscriber"
)

// spanHasError reports whether a span counts as failed beyond the "error" field the
// layer sees among the span's own fields (EndErr records its error there): the storage
// layer, when composed, also knows the other error fields (error.message, error_msg, ...)
// and those of events logged inside the span. Without storage it is false and the own
// "error" field decides.
func spanHasError(span subscriber.SpanRef) bool {
	return storage.HasError(span)
}
