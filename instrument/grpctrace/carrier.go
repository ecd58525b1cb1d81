package grpctrace

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"
)

// MetadataCarrier adapts gRPC metadata to a [subscriber.Carrier]. gRPC metadata keys are
// lowercase: Get and Set lower-case the key, and Get returns the first value.
//
//	md, _ := metadata.FromIncomingContext(ctx)
//	ctx = subscriber.Extract(ctx, grpctrace.MetadataCarrier(md))
type MetadataCarrier metadata.MD

// Get returns the first value of key, or "".
func (m MetadataCarrier) Get(key string) string {
	if v := metadata.MD(m)[strings.ToLower(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key with value.
func (m MetadataCarrier) Set(key, value string) { metadata.MD(m).Set(key, value) }

// incoming reads a call's incoming metadata, copied out of ctx only on the first Get
// (a dispatch without propagators never asks).
type incoming struct {
	ctx context.Context
	md  metadata.MD
}

func (c *incoming) Get(key string) string {
	if c.md == nil {
		c.md, _ = metadata.FromIncomingContext(c.ctx)
		if c.md == nil {
			c.md = metadata.MD{}
		}
	}
	return MetadataCarrier(c.md).Get(key)
}

func (c *incoming) Set(key, value string) {} // the incoming side is read-only

// outgoing collects what the propagators write, so that the outgoing metadata is
// rebuilt only when there is something to add. Get sees what was written, then the
// metadata already in ctx.
type outgoing struct {
	ctx context.Context
	kv  [][2]string
}

func (c *outgoing) Get(key string) string {
	key = strings.ToLower(key)
	for i := len(c.kv) - 1; i >= 0; i-- {
		if c.kv[i][0] == key {
			return c.kv[i][1]
		}
	}
	md, _ := metadata.FromOutgoingContext(c.ctx)
	return MetadataCarrier(md).Get(key)
}

func (c *outgoing) Set(key, value string) {
	c.kv = append(c.kv, [2]string{strings.ToLower(key), value})
}

// inject returns ctx with the trace of the span it carries added to its outgoing
// metadata. The metadata already there is kept; only the propagators' own keys are
// replaced, so a call whose metadata was copied from an incoming call does not send
// the upstream trace as well.
func inject(ctx context.Context, c *config) context.Context {
	out := outgoing{ctx: ctx}
	c.Dispatch().Inject(ctx, &out)
	if len(out.kv) == 0 {
		return ctx
	}
	md, ok := metadata.FromOutgoingContext(ctx) // a copy
	if !ok {
		md = make(metadata.MD, len(out.kv))
	}
	for _, kv := range out.kv {
		md.Set(kv[0], kv[1])
	}
	return metadata.NewOutgoingContext(ctx, md)
}
