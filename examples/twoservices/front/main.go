// Command front serves GET /hello and calls the back service for each request, sending
// the trace in sw8. See ../README.md.
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
	addr := flag.String("addr", "127.0.0.1:8081", "address to serve on")
	back := flag.String("back", "http://127.0.0.1:8082", "base URL of the back service")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	err := twoservices.RunFront(ctx, *addr, *back, os.Stderr, func(a string) {
		fmt.Fprintf(os.Stderr, "front: serving on http://%s (GET /hello), calling %s\n", a, *back)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "front:", err)
		os.Exit(1)
	}
}
