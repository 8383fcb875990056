#!/bin/sh
# Runs every benchmark binary once on the small model with a tiny time budget, so a broken
# benchmark fails `bazel test //...` (Envoy's practice; STYLE.md). Arguments: the binaries.
# --benchmark_min_time takes plain seconds in Google Benchmark 1.7.1 ("0.01s" came in 1.8).
set -eu
[ "$#" -gt 0 ] || { echo "usage: $0 BENCHMARK..." >&2; exit 2; }
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
echo "PASS: $# benchmark binaries"
