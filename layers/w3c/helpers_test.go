package w3c_test

import "github.com/strata-go/strata/registry"

func registryTrace(s string) registry.TraceID { return registry.ParseTraceID(s) }
