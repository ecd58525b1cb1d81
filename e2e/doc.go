// Package e2e holds Strata's end-to-end tests against real third-party peers: parsers,
// collectors and exporters that are never dependencies of the library module itself.
package e2e
