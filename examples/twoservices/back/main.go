// Command back serves GET /work, continuing the caller's trace from its sw8 header. See
// ../README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/strata-go/strata/examples/twoservices"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to serve on")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	err := twoservices.RunBack(ctx, *addr, os.Stderr, func(a string) {
		fmt.Fprintf(os.Stderr, "back: serving on http://%s (GET /work)\n", a)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "back:", err)
		os.Exit(1)
	}
}
