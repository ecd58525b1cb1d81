// Package pipeline is the delivery machinery every exporter shares: a bounded queue,
// batching, retries with backoff, loss accounting and a shutdown with a deadline. An
// exporter assembles its own items (SkyWalking segments, Jaeger batches, OTLP spans)
// and hands them to a [Pipeline]; a [Sender] puts one batch on the wire.
//
// # The queue
//
// [Pipeline.Enqueue] never blocks and, in steady state, allocates nothing: it copies
// the item into a ring buffer of [Config.QueueSize] items under a short lock. When the
// ring is full, or after [Pipeline.Shutdown], the item is dropped and counted, so a
// slow or absent peer never slows down the code that ends spans.
//
// # The goroutine
//
// New starts one goroutine, owned by the pipeline and stopped by Shutdown. It waits
// for items, lingers up to [Config.FlushInterval] for a fuller batch (it sends at once
// when [Config.BatchSize] items are queued), and calls [Sender.Send] with up to
// BatchSize items, in the order they were enqueued. The Sender is only ever called from
// that goroutine, one batch at a time, so it needs no locking of its own.
//
// # Failures
//
// A Sender tells the pipeline what became of a batch through its error:
//
//   - nil: every item was delivered (counted in [Stats.Sent]).
//   - an error wrapped with [Retry]: nothing of the batch reached the peer (connection
//     refused, not connected yet). The pipeline keeps the batch and sends it again after
//     an exponential backoff with jitter, from [Config.MinBackoff] up to
//     [Config.MaxBackoff], for as long as it takes (Flush and Shutdown cut the wait
//     short and try at once); meanwhile new items queue up, and are dropped once the
//     queue is full. A batch is never sent twice after a Send that
//     returned nil or a plain error.
//   - any other error: the batch may have been partly delivered and cannot be retried
//     without duplicates; its items count as failed ([Stats.Failed]).
//
// Errors go to [Config.Logf], at most one line per kind (retrying, failed, dropped)
// every 30 seconds, with a count of the lines held back: a peer that is down for an
// hour costs a few hundred log lines, never one per item.
//
// # Accounting
//
// Every item offered to Enqueue ends up in exactly one of the [Stats] counters, or is
// still queued:
//
//	Enqueued == Sent + Failed + Dropped + Queued
//
// Dropped counts items refused by Enqueue (queue full, or after Shutdown); Failed
// counts items lost in flight and items still undelivered when Shutdown's deadline
// passed. Exporters publish these as self-metrics.
//
// # Flush and Shutdown
//
// [Pipeline.Flush] makes the goroutine send what is queued without lingering, and
// waits until every item enqueued before the call has been delivered or has failed.
// [Pipeline.Shutdown] stops accepting items, delivers what is queued within its
// context's deadline, and stops the goroutine. When the deadline passes first, the
// items not delivered count as failed, the context given to a Send still running is
// cancelled, and the error wraps ctx.Err() and says how many items were lost.
package pipeline
