#!/bin/sh
# Runs every benchmark binary once on the small model with a tiny time budget, so a broken
# benchmark fails `bazel test //...` (Envoy's practice; STYLE.md), and cli_time once on the
# small model with the real CLI. Arguments: CLI_TIME FIPTGEN BENCHMARK...
# --benchmark_min_time takes plain seconds in Google Benchmark 1.7.1 ("0.01s" came in 1.8).
set -eu
[ "$#" -gt 2 ] || { echo "usage: $0 CLI_TIME FIPTGEN BENCHMARK..." >&2; exit 2; }
cli_time=$1
fiptgen=$2
shift 2
echo "== $cli_time"
out=$("$cli_time" --size small --runs 1 --cpu -1 --fiptgen "$fiptgen" 2>&1) || {
  echo "$out"
  echo "FAIL: cli_time exited with $?" >&2
  exit 1
}
echo "$out"
echo "$out" | grep -q "MB/s of output" || { echo "FAIL: cli_time printed no rate" >&2; exit 1; }
for bin in "$@"; do
  echo "== $bin"
  out=$("$bin" --benchmark_filter=/small --benchmark_min_time=0.01 2>&1) || {
    echo "$out"
    echo "FAIL: $bin exited with $?" >&2
    exit 1
  }
  echo "$out"
  # A benchmark that calls SkipWithError still exits 0: catch it here.
  if echo "$out" | grep -q "ERROR OCCURRED"; then
    echo "FAIL: $bin reported an error" >&2
    exit 1
  fi
  echo "$out" | grep -q "/small" || { echo "FAIL: $bin ran no small benchmark" >&2; exit 1; }
done
echo "PASS: cli_time and $# benchmark binaries"
