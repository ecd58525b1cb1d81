#!/usr/bin/env bash
# run.sh runs every benchmark in this module against its peers, in one run, and
# summarises the medians with benchstat. RESULTS.md explains how to read the figures.
#
#   ./run.sh                      all benchmarks, 6 interleaved rounds
#   COUNT=10 BENCH='SpanStartEnd' ./run.sh
#   BENCH='^BenchmarkFullStack$' ./run.sh   the full-stack request (fullstack_test.go) alone
#   OUT=/tmp/new.txt ./run.sh && benchstat /tmp/old.txt /tmp/new.txt
#   PAR_BENCH= ./run.sh           no extra -cpu 1 pass for the Parallel benchmarks
#
# The test binary is built once and run COUNT times with -count 1, so every round runs
# each benchmark and its peers back to back: a slow minute on a shared VM then lands on
# strata and its peers alike instead of on one benchmark's repetitions (which is what
# -count N does). Ratios between rows of one round are what the budgets are about.
#
# Environment: COUNT (rounds, default 6: benchstat needs 6 for a confidence interval),
# BENCH (a -bench regexp, default .), OUT (the raw output file, default
# $TMPDIR/strata-bench-<date>.txt), BENCHTIME (-benchtime, default 500ms).
#
# Parallel benchmarks (RunParallel) are measured with all cores in the main pass (the
# -N suffix, N = GOMAXPROCS) and again on one core in a second pass per round, with
# -test.cpu PAR_CPU (default 1: no suffix), so that -cpu 1,N doubles only those rows.
# PAR_BENCH is that pass's -bench regexp: 'Parallel' when BENCH is '.', otherwise empty
# (no second pass) unless given.
set -euo pipefail

cd "$(dirname "$0")"

COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-500ms}
BENCH=${BENCH:-.}
if [ "$BENCH" = "." ]; then
	PAR_BENCH=${PAR_BENCH-Parallel}
else
	PAR_BENCH=${PAR_BENCH-}
fi
PAR_CPU=${PAR_CPU:-1}
OUT=${OUT:-${TMPDIR:-/tmp}/strata-bench-$(date -u +%Y%m%dT%H%M%SZ).txt}

# benchstat, pinned: the module proxy refuses version lists for golang.org/x/perf, so
# @latest is not reliable here; this exact pseudo-version resolves.
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
GOBIN_DIR=$(go env GOBIN)
GOBIN_DIR=${GOBIN_DIR:-$(go env GOPATH)/bin}
BENCHSTAT=$GOBIN_DIR/benchstat
if ! go install "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}"; then
	# Offline: fall back to a benchstat already installed.
	BENCHSTAT=$(command -v benchstat || echo "$BENCHSTAT")
fi

# The machine, so that figures are never quoted without it.
{
	echo "# date:  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# cpu:   $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
	echo "# nproc: $(nproc)"
	echo "# mem:   $(free -h 2>/dev/null | awk '/^Mem:/ {print $2}')"
	echo "# go:    $(go version)"
	echo "# cmd:   go test -c -o bench.test . && ${COUNT} rounds of ./bench.test -test.run '^\$' -test.bench '${BENCH}' -test.benchmem -test.benchtime ${BENCHTIME}"
	if [ -n "$PAR_BENCH" ]; then
		echo "#        each round then: ./bench.test -test.run '^\$' -test.bench '${PAR_BENCH}' -test.cpu ${PAR_CPU} -test.benchmem -test.benchtime ${BENCHTIME}"
	fi
} | tee "$OUT"

BIN=$(mktemp -d)/bench.test
trap 'rm -rf "$(dirname "$BIN")"' EXIT
go test -c -o "$BIN" .
for round in $(seq "$COUNT"); do
	echo "# round $round of $COUNT" >&2
	"$BIN" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.benchtime "$BENCHTIME" -test.timeout 60m | tee -a "$OUT"
	if [ -n "$PAR_BENCH" ]; then
		"$BIN" -test.run '^$' -test.bench "$PAR_BENCH" -test.cpu "$PAR_CPU" -test.benchmem -test.benchtime "$BENCHTIME" -test.timeout 60m | tee -a "$OUT"
	fi
done

echo
echo "# benchstat $OUT"
"$BENCHSTAT" "$OUT"
