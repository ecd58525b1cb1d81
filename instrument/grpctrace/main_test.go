package grpctrace_test

import (
	"testing"

	"github.com/strata-go/strata/instrument/internal/instrumenttest"
)

func TestMain(m *testing.M) { instrumenttest.MainWithLeakCheck(m) }
