// Package readmetest checks that every Go block of the repository's README.md compiles.
// It has no code of its own: see readme_test.go.
package readmetest
