# What the kernel tests share (sourced, not run): they work only in throwaway network
# namespaces of their own, and skip where they cannot make them.
#
#   prefix="fgapply-$$-"
#   source "$(dirname "$0")/netns_test_lib.sh"
#
# Says SKIPPED and exits 0 unless it runs as root with ip, ipset and both iptables backends.
# Then gives $tmp (a scratch directory), new_ns (makes namespace <prefix><n>, its name in $ns),
# fail (says FAIL and counts in $failures), $count (namespaces made), and traps that delete
# the namespaces named <prefix>* and $tmp however the test ends.
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: needs root to make network namespaces"
  exit 0
fi
for tool in ip ipset iptables-nft-restore iptables-legacy-restore; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool is not installed"
    exit 0
  fi
done

tmp=$(mktemp -d)
count=0
failures=0
cleanup() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in "$prefix"*) ip netns del "$ns" ;; esac
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Makes a namespace; its name goes to $ns.
new_ns() {
  count=$((count + 1))
  ns="$prefix$count"
  ip netns add "$ns" || { echo "cannot make namespace $ns"; exit 1; }
}
