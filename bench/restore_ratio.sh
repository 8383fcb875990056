#!/bin/bash
# restore_ratio.sh: how long the kernel-side tools take to check fiptgen's script, against
# how long fiptgen takes to write it, for the *large* scale model.
#
#   bazel run -c opt //bench:restore_ratio        # as root
#   bench/restore_ratio.sh MAKE_MODEL FIPTGEN     # the same, binaries given
#
# In a throwaway network namespace (fgbench-<pid>, deleted on exit) it creates the model's
# ipsets (iptables-restore --test refuses rules naming a missing set), then times
# `iptables-nft-restore --test` and `iptables-legacy-restore --test` on the v4 script, and
# `fiptgen --family 4 MODEL` writing that script (load + generate + render, one process).
# Best of RUNS runs each (default 5). Nothing is applied: --test only parses and checks; the
# namespace has only lo and sees no traffic. The machine's own namespace is never touched.
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
for tool in ip ipset iptables-nft-restore iptables-legacy-restore; do
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

# best_ms NETNS|- INPUT CMD...: the fastest of RUNS runs of CMD reading INPUT, in ms, timed
# inside the namespace (so `ip netns exec` itself is not counted). Fails if CMD fails.
best_ms() {
  local netns=$1 input=$2
  shift 2
  local run=(bash -c 's=$(date +%s%N); "$@" <"$0" >/dev/null || exit; e=$(date +%s%N); echo $(( (e - s) / 1000 ))' "$input" "$@")
  if [ "$netns" != - ]; then run=(ip netns exec "$netns" "${run[@]}"); fi
  local best="" us
  for _ in $(seq "$RUNS"); do
    us=$("${run[@]}")
    if [ -z "$best" ] || [ "$us" -lt "$best" ]; then best=$us; fi
  done
  awk -v us="$best" 'BEGIN { printf "%.1f", us / 1000 }'
}

"$make_model" --size "$SIZE" >"$work/model.json"
"$fiptgen" --out "$work" "$work/model.json"
v4="$work/iptables.restore"
gen_ms=$(best_ms - /dev/null "$fiptgen" --family 4 "$work/model.json")

ip netns add "$ns"
ip netns exec "$ns" ipset restore <"$work/ipsets.restore"
nft_ms=$(best_ms "$ns" "$v4" iptables-nft-restore --test)
legacy_ms=$(best_ms "$ns" "$v4" iptables-legacy-restore --test)

lines=$(wc -l <"$v4")
bytes=$(wc -c <"$v4")
sets=$(grep -c '^create ' "$work/ipsets.restore")
echo "model: $SIZE ($(wc -c <"$work/model.json") bytes JSON); v4 script: $bytes bytes, $lines lines; $sets ipsets created in netns $ns"
echo "best of $RUNS runs:"
printf '  %-44s %10s ms\n' "fiptgen --family 4 (load+generate+render)" "$gen_ms" \
  "iptables-nft-restore --test" "$nft_ms" \
  "iptables-legacy-restore --test" "$legacy_ms"
awk -v g="$gen_ms" -v n="$nft_ms" -v l="$legacy_ms" 'BEGIN {
  printf "ratio restore --test / fiptgen: nft %.1fx, legacy %.1fx\n", n / g, l / g }'
