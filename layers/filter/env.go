package filter

import (
	"errors"
	"os"
	"strings"
)

// EnvVar is the environment variable [FromEnv] reads directives from.
const EnvVar = "STRATA_LOG"

// DefaultDirectives is what [FromEnv] uses when [EnvVar] is unset or empty.
const DefaultDirectives = "info"

// FromEnv parses the directives in the STRATA_LOG environment variable, or "info" when
// it is unset or empty. A parse error names the variable:
//
//	filter: STRATA_LOG: directive "songs/db=loud": unknown level "loud" (want ...)
func FromEnv() (*Directives, error) { return FromEnvOr(DefaultDirectives) }

// FromEnvOr is like [FromEnv] with def in place of "info" when STRATA_LOG is unset or
// empty. An error in def names it as "default directives".
func FromEnvOr(def string) (*Directives, error) {
	src, s := EnvVar, os.Getenv(EnvVar)
	if strings.TrimSpace(s) == "" {
		src, s = "default directives", def
	}
	d, err := Parse(s)
	if pe, ok := errors.AsType[*ParseError](err); ok {
		pe.Source = src
	}
	return d, err
}
