#!/bin/bash
# restore_ratio.sh: how long the whole fiptgen CLI takes to write a model's scripts, against
# how long the kernel-side tools take just to check them, for the *large* scale model.
#
#   bazel run -c opt //bench:restore_ratio        # as root
#   bench/restore_ratio.sh MAKE_MODEL FIPTGEN     # the same, binaries given
#
# In a throwaway network namespace (fgbench-<pid>, deleted on exit) it creates the model's
# ipsets (iptables-restore --test refuses rules naming a missing set), then times
# `iptables-legacy-restore --test` on the v4 script and `ip6tables-legacy-restore --test` on
# the v6 script (and iptables-nft-restore --test on v4, for reference), and the whole
# `fiptgen --out DIR MODEL` process writing all three scripts (read, load, generate, render,
# write). Best of RUNS runs each (default 5), each run on CPU 1 when taskset is there.
# Nothing is applied: --test only parses and checks; the namespace has only lo and sees no
# traffic. The machine's own namespace is never touched.
set -euo pipefail

RUNS=${RUNS:-5}
SIZE=${SIZE:-large}
if [ "$#" -eq 2 ]; then
  make_model=$(realpath "$1")
  fiptgen=$(realpath "$2")
elif [ -x bench/make_model ] && [ -x tools/fiptgen ]; then  # bazel run: in the runfiles
  make_model=$PWD/bench/make_model
  fiptgen=$PWD/tools/fiptgen
else
  echo "usage: $0 MAKE_MODEL FIPTGEN (or: bazel run //bench:restore_ratio)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "restore_ratio: needs root (network namespace, ipset, iptables)" >&2
  exit 2
fi
for tool in ip ipset iptables-nft-restore iptables-legacy-restore ip6tables-legacy-restore; do
  command -v "$tool" >/dev/null || { echo "restore_ratio: $tool not found" >&2; exit 2; }
done

ns="fgbench-$$"
work=$(mktemp -d /tmp/fgbench.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 1); fi

# best_ms NETNS|- INPUT CMD...: the fastest of RUNS runs of CMD reading INPUT, in ms, timed
# inside the namespace (so `ip netns exec` itself is not counted). Fails if CMD fails.
best_ms() {
  local netns=$1 input=$2
  shift 2
  local run=(bash -c 's=$(date +%s%N); "$@" <"$0" >/dev/null || exit; e=$(date +%s%N); echo $(( (e - s) / 1000 ))' "$input" "${pin[@]}" "$@")
  if [ "$netns" != - ]; then run=(ip netns exec "$netns" "${run[@]}"); fi
  local best="" us
  for _ in $(seq "$RUNS"); do
    us=$("${run[@]}")
    if [ -z "$best" ] || [ "$us" -lt "$best" ]; then best=$us; fi
  done
  awk -v us="$best" 'BEGIN { printf "%.1f", us / 1000 }'
}

"$make_model" --size "$SIZE" >"$work/model.json"
mkdir "$work/out"
"$fiptgen" --out "$work/out" "$work/model.json"
v4="$work/out/iptables.restore"
v6="$work/out/ip6tables.restore"
gen_ms=$(best_ms - /dev/null "$fiptgen" --out "$work/out" "$work/model.json")

ip netns add "$ns"
ip netns exec "$ns" ipset restore <"$work/out/ipsets.restore"
legacy4_ms=$(best_ms "$ns" "$v4" iptables-legacy-restore --test)
legacy6_ms=$(best_ms "$ns" "$v6" ip6tables-legacy-restore --test)
nft_ms=$(best_ms "$ns" "$v4" iptables-nft-restore --test)

sets=$(grep -c '^create ' "$work/out/ipsets.restore")
echo "model: $SIZE ($(wc -c <"$work/model.json") bytes JSON); scripts: v4 $(wc -c <"$v4") bytes," \
  "v6 $(wc -c <"$v6") bytes, ipsets $(wc -c <"$work/out/ipsets.restore") bytes;" \
  "$sets ipsets created in netns $ns"
echo "best of $RUNS runs:"
printf '  %-44s %10s ms\n' "fiptgen --out (the whole CLI, three scripts)" "$gen_ms" \
  "iptables-legacy-restore --test (v4)" "$legacy4_ms" \
  "ip6tables-legacy-restore --test (v6)" "$legacy6_ms" \
  "iptables-nft-restore --test (v4, reference)" "$nft_ms"
awk -v g="$gen_ms" -v l4="$legacy4_ms" -v l6="$legacy6_ms" 'BEGIN {
  printf "fiptgen --out / (legacy v4 + legacy v6 --test): %.1f%%\n", 100 * g / (l4 + l6) }'
