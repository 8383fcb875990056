# Shared by the kernel tests of fiptgen-apply (apply_cases_test.sh, apply_crash_test.sh):
# throwaway network namespaces, the applier run inside one, foreign rules, and wrappers that
# kill the applier at a chosen step. Source it after setting $apply (the binary); it sets
# $tmp, and deletes every namespace it made and every process it started on exit.
# Nothing here touches the machine's own namespace.

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: needs root to make network namespaces"
  exit 0
fi
for tool in ip ipset iptables-nft-restore iptables-legacy-restore ip6tables-nft-restore \
  ip6tables-legacy-restore setsid flock; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool is not installed"
    exit 0
  fi
done

tmp=$(mktemp -d)
ns_prefix="fgt-$$-"
ns_count=0
failures=0
started_groups=""  # process groups started with start_group, killed on exit
# A private xtables lock file: holding it must not stall the rest of the machine.
export XTABLES_LOCKFILE="$tmp/xtables.lock"

cleanup() {
  local ns pg
  for pg in $started_groups; do kill -KILL -- "-$pg" 2>/dev/null; done
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in "$ns_prefix"*) ip netns del "$ns" ;; esac
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
  ns_count=$((ns_count + 1))
  ns="$ns_prefix$ns_count"
  ip netns add "$ns" || { echo "cannot make namespace $ns"; exit 1; }
}

in_ns() { ip netns exec "$ns" "$@"; }

# Starts a command in its own process group (killed at exit, or with stop_group); the group id
# goes to $group.
start_group() {
  setsid "$@" &
  group=$!
  started_groups="$started_groups $group"
}
stop_group() { kill -KILL -- "-$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# Runs the applier in the namespace: stdout to $tmp/out, stderr to $tmp/err; returns its status.
run_apply() {
  in_ns "$apply" "$@" >"$tmp/out" 2>"$tmp/err"
}

# The rules and user chains of a backend ($backend), both families, without counters.
rules() {
  local t
  for t in iptables ip6tables; do
    echo "## $t"
    in_ns "$t-$backend-save" 2>/dev/null | grep -Ev '^(#|:[A-Z]+ [A-Z]+ )' | grep -v '^\*' | grep -v '^COMMIT'
  done
}
foreign_rules() { rules | grep -v 'felix-'; }
# Sets compare by content: a rebuilt set has new sizing options and initval.
sets() { in_ns ipset save | sed 's/ hashsize .*//' | sort; }

# Foreign rules of every kind, added with the ordinary tools: a host firewall rule inserted
# at the top of INPUT, kube-proxy-like chains, a jump from raw.
add_foreign() {
  local t
  for t in "iptables-$backend" "ip6tables-$backend"; do
    in_ns "$t" -N KUBE-SERVICES
    in_ns "$t" -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
    in_ns "$t" -A KUBE-SERVICES -p udp -m udp --dport 53 -j ACCEPT
    in_ns "$t" -t raw -A PREROUTING -i docker0 -j ACCEPT
  done
}

# The applier succeeds ("$what" names the check); then the next run changes nothing.
converges() {
  if ! run_apply "$@"; then
    fail "$what: the run failed: $(cat "$tmp/err")"
    return 1
  fi
  if ! run_apply "$@"; then
    fail "$what: the run after it failed: $(cat "$tmp/err")"
    return 1
  fi
  if ! grep -q 'no changes$' "$tmp/err"; then
    fail "$what: the run after it changed something: $(cat "$tmp/err")"
    return 1
  fi
  return 0
}

# Writes wrappers around ipset and the restore tools into $1 (put it first in PATH): each
# runs the real tool, then counts the calls that change something (restores without --test)
# in $FG_COUNT, and SIGKILLs the applier (its parent) right after call number $FG_KILL_AT, or
# after the first call of a tool whose name matches $FG_KILL_AFTER.
make_killers() {
  local dir=$1 t real
  mkdir -p "$dir"
  for t in ipset iptables-nft-restore ip6tables-nft-restore iptables-legacy-restore \
    ip6tables-legacy-restore; do
    real=$(command -v "$t")
    cat >"$dir/$t" <<EOF
#!/bin/sh
"$real" "\$@"
rc=\$?
case " \$* " in *" --test "* | *" save "* | *" list "*) exit \$rc ;; esac
n=\$((\$(cat "\$FG_COUNT" 2>/dev/null || echo 0) + 1))
echo \$n >"\$FG_COUNT"
if [ "\$n" = "\${FG_KILL_AT:-}" ]; then kill -KILL \$PPID; fi
case "$t" in \${FG_KILL_AFTER:-none}) kill -KILL \$PPID ;; esac
exit \$rc
EOF
    chmod +x "$dir/$t"
  done
}
