#!/bin/bash
# one_change.sh: runs one_change (what one endpoint change costs the kernel) in a throwaway
# network namespace, as root. Arguments after the binary go to it.
#
#   bazel run -c opt //bench:one_change -- --size huge --backend nft --mode known --cycles 5
#   bench/one_change.sh ONE_CHANGE --size small --backend legacy     # the binary given
#
# The namespace (fgone-<pid>) has only lo, sees no traffic, and is deleted on exit, with its
# sets and rules; the legacy xtables lock is a private file, so a run never stalls another
# program's iptables. The machine's own namespace is never touched.
set -euo pipefail

if [ "$#" -ge 1 ] && [ -x "$1" ] && [ "${1#-}" = "$1" ]; then
  bin=$(realpath "$1")
  shift
elif [ -x bench/one_change_bin ]; then  # bazel run: in the runfiles
  bin=$PWD/bench/one_change_bin
else
  echo "usage: $0 ONE_CHANGE [FLAGS] (or: bazel run //bench:one_change -- [FLAGS])" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "one_change: needs root (network namespace, ipset, iptables)" >&2
  exit 2
fi
for tool in ip ipset iptables-nft-restore iptables-legacy-restore; do
  command -v "$tool" >/dev/null || { echo "one_change: $tool not found" >&2; exit 2; }
done

ns="fgone-$$"
work=$(mktemp -d /tmp/fgone.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

export XTABLES_LOCKFILE="$work/xtables.lock"
ip netns add "$ns"
ip netns exec "$ns" "$bin" --netns "$ns" "$@"
