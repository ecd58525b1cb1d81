package filter_test

import (
	"os"
	"strings"
	"testing"

	"github.com/strata-go/strata/layers/filter"
)

func TestFromEnvDefaultsToInfoWhenUnsetOrEmpty(t *testing.T) {
	t.Setenv(filter.EnvVar, "")
	for _, unset := range []bool{false, true} {
		if unset {
			os.Unsetenv(filter.EnvVar) // t.Setenv restores it
		}
		d, err := filter.FromEnv()
		if err != nil || d.String() != "info" {
			t.Errorf("unset=%v: FromEnv() = %v, %v; want info", unset, d, err)
		}
	}
}

func TestFromEnvReadsSTRATA_LOG(t *testing.T) {
	t.Setenv("STRATA_LOG", "songs/db=debug,warn")
	d, err := filter.FromEnv()
	if err != nil || d.String() != "warn,songs/db=debug" {
		t.Errorf("FromEnv() = %v, %v; want warn,songs/db=debug", d, err)
	}
}

func TestFromEnvErrorNamesTheVariableAndDirective(t *testing.T) {
	t.Setenv(filter.EnvVar, "info,songs/db=loud")
	_, err := filter.FromEnv()
	if err == nil {
		t.Fatal("FromEnv accepted a bad level")
	}
	for _, want := range []string{"STRATA_LOG", `"songs/db=loud"`, `unknown level "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestFromEnvOrUsesTheGivenDefault(t *testing.T) {
	t.Setenv(filter.EnvVar, "  ")
	d, err := filter.FromEnvOr("debug,songs/vendor=off")
	if err != nil || d.String() != "debug,songs/vendor=off" {
		t.Errorf("FromEnvOr = %v, %v", d, err)
	}
	_, err = filter.FromEnvOr("songs=[")
	if err == nil || !strings.Contains(err.Error(), "default directives") {
		t.Errorf("a bad default gave %v; want an error that names the default directives", err)
	}
	t.Setenv(filter.EnvVar, "error")
	if d, err := filter.FromEnvOr("debug"); err != nil || d.String() != "error" {
		t.Errorf("with STRATA_LOG set, FromEnvOr = %v, %v; want error", d, err)
	}
}
