#!/usr/bin/env bash
# End-to-end test with real packets: builds a host, three workloads and an external machine out
# of network namespaces, applies model1.json, checks every flow in flows.txt, the same again
# with 41 extra workloads that turn the dispatch chains into a tree, model1.json again, then
# model2.json on top and checks again. See e2e/README.md.
#
#   e2e_test.sh --backend nft|legacy
#
# Topology (every namespace is new, named fe2e<pid>-<name>; only 198.18.0.0/15 and
# fd5a:f1e1::/32 are used; nothing runs in the machine's own namespace):
#
#   w1 eth0 198.18.1.1 fd5a:f1e1::1:1 02:00:00:00:00:01 ---- tapw1 \
#   w2 eth0 198.18.1.2 fd5a:f1e1::1:2 02:00:00:0a:bc:02 ---- tapw2  > h  lo 198.18.0.254
#   w3 eth0 198.18.1.3 fd5a:f1e1::1:3 02:00:00:00:00:03 ---- tapw3 /       fd5a:f1e1::fe
#   x  eth0 198.18.9.2(+.3) fd5a:f1e1::9:2(+::9:3) --------- ext0 198.18.9.1 fd5a:f1e1::9:1
#
# Workloads route everything straight out of eth0 (v4: the host's taps answer ARP by proxy;
# v6: next hop fe80::1 on each tap), the host routes each workload address to its tap, x
# routes through the host.
set -Eeuo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

backend=nft
while (($#)); do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    *) echo "usage: $0 --backend nft|legacy" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: e2e ($backend) needs root (network namespaces, iptables)"
  exit 0
fi

# Files: from Bazel's runfiles, or from the work tree when run by hand.
if [ -n "${TEST_SRCDIR:-}" ]; then
  root="$TEST_SRCDIR/${TEST_WORKSPACE:-fiptgen}"
  bin="$root"
else
  root="$(cd "$(dirname "$0")/.." && pwd)"
  bin="$root/bazel-bin"
fi
e2e="$root/e2e"
probe="${PROBE:-$bin/e2e/probe}"
fiptgen="${FIPTGEN:-$bin/tools/fiptgen}"
fiptgen_apply="${FIPTGEN_APPLY:-$bin/tools/fiptgen-apply}"

for tool in ip sysctl "iptables-$backend-restore" "ip6tables-$backend-restore" ipset; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (tools/setup)"; exit 1; }
done
for file in "$probe" "$fiptgen" "$fiptgen_apply"; do
  [ -x "$file" ] || { echo "FAIL: $file is missing (bazel build //e2e:probe //tools:all)"; exit 1; }
done

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/fe2e.XXXXXX")"
prefix="fe2e$$-"
names=(h w1 w2 w3 x)
pids=()
started=$SECONDS

cleanup() {
  local pid name
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for name in "${names[@]}"; do ip netns del "$prefix$name" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: line $LINENO: \"$BASH_COMMAND\" exited with $?"' ERR
trap 'exit 1' INT TERM

in_ns() { local ns="$1"; shift; ip netns exec "$prefix$ns" "$@"; }
say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() {
  echo "FAIL: $*"
  if ip netns list | grep -q "^${prefix}h\b"; then
    echo "--- iptables-save (host namespace, $backend)"
    in_ns h "iptables-$backend-save" 2>&1 || true
    echo "--- ip6tables-save"
    in_ns h "ip6tables-$backend-save" 2>&1 || true
    echo "--- ipset save"
    in_ns h ipset save 2>&1 || true
  fi
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Topology

say "backend $backend; namespaces ${prefix}{${names[*]}}"
for name in "${names[@]}"; do
  ip netns add "$prefix$name"
  # New namespaces copy some of the root namespace's IPv4 settings: set what matters here.
  in_ns "$name" sh -c '
    sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.default.arp_ignore=0 \
      net.ipv4.conf.all.arp_filter=0 net.ipv4.conf.default.arp_filter=0 \
      net.ipv4.icmp_echo_ignore_all=0 \
      net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0'
  ip -n "$prefix$name" link set lo up
done
in_ns h sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

ip -n "${prefix}h" addr add 198.18.0.254/32 dev lo
ip -n "${prefix}h" addr add fd5a:f1e1::fe/128 dev lo

workload() {  # name index mac
  local name="$1" i="$2" mac="$3" tap="tap$1" ns="$prefix$1"
  ip -n "${prefix}h" link add "$tap" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set eth0 address "$mac"
  in_ns h sysctl -qw "net.ipv4.conf.$tap.proxy_arp=1" "net.ipv4.neigh.$tap.proxy_delay=0" \
    "net.ipv4.conf.$tap.rp_filter=0" "net.ipv6.conf.$tap.accept_dad=0"
  ip -n "${prefix}h" addr add fe80::1/64 dev "$tap" nodad
  ip -n "${prefix}h" link set "$tap" up
  ip -n "$ns" addr add "198.18.1.$i/32" dev eth0
  ip -n "$ns" addr add "fd5a:f1e1::1:$i/128" dev eth0 nodad
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default dev eth0 src "198.18.1.$i"
  ip -n "$ns" -6 route add default via fe80::1 dev eth0 src "fd5a:f1e1::1:$i"
  ip -n "${prefix}h" route add "198.18.1.$i/32" dev "$tap"
  ip -n "${prefix}h" -6 route add "fd5a:f1e1::1:$i/128" dev "$tap"
}
workload w1 1 02:00:00:00:00:01
workload w2 2 02:00:00:0a:bc:02
workload w3 3 02:00:00:00:00:03
# w1's second addresses, for the anti-spoofing flows; never preferred as a source.
ip -n "${prefix}w1" addr add 198.18.1.99/32 dev eth0
ip -n "${prefix}w1" addr add fd5a:f1e1::1:99/128 dev eth0 nodad preferred_lft 0
ip -n "${prefix}h" route add 198.18.1.99/32 dev tapw1
ip -n "${prefix}h" -6 route add fd5a:f1e1::1:99/128 dev tapw1

ip -n "${prefix}h" link add ext0 type veth peer name eth0 netns "${prefix}x"
ip -n "${prefix}h" addr add 198.18.9.1/24 dev ext0
ip -n "${prefix}h" addr add fd5a:f1e1::9:1/112 dev ext0 nodad
ip -n "${prefix}h" link set ext0 up
ip -n "${prefix}x" addr add 198.18.9.2/24 dev eth0
ip -n "${prefix}x" addr add 198.18.9.3/24 dev eth0
ip -n "${prefix}x" addr add fd5a:f1e1::9:2/112 dev eth0 nodad
ip -n "${prefix}x" addr add fd5a:f1e1::9:3/112 dev eth0 nodad preferred_lft 0
ip -n "${prefix}x" link set eth0 up
ip -n "${prefix}x" route add default via 198.18.9.1
ip -n "${prefix}x" -6 route add default via fd5a:f1e1::9:1

# Echo servers: every namespace serves the same ports.
tcp_ports=22,53,80,81,179,443,2379,4789,7000,7002,7999,8000,8050,8080,8081,8775,9000,9001
udp_ports=53,67,547,4789,5000,5010,5011
for name in "${names[@]}"; do
  in_ns "$name" "$probe" serve --tcp "$tcp_ports" --udp "$udp_ports" \
    --ready "$work/ready-$name" >"$work/serve-$name.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  n=0
  for name in "${names[@]}"; do [ -e "$work/ready-$name" ] && n=$((n + 1)); done
  [ "$n" = "${#names[@]}" ] && break
  sleep 0.05
done
for name in "${names[@]}"; do
  [ -e "$work/ready-$name" ] || fail "echo server in $name did not start: $(cat "$work/serve-$name.log")"
  # Link-local addresses come up with DAD unless accept_dad was 0 in time: wait them out.
  for _ in $(seq 50); do
    [ -z "$(ip -n "$prefix$name" -6 addr show tentative)" ] && break
    sleep 0.1
  done
done

# ---------------------------------------------------------------------------------------------
# Probing

batch=0
flush_neighbours() {
  local name
  for name in "${names[@]}"; do ip -n "$prefix$name" neigh flush all 2>/dev/null || true; done
}

# check LABEL COLUMN GROUP: runs the flows of GROUP with the verdicts of COLUMN (2 = model1,
# 3 = model2, "ok" = every flow must pass) in parallel.
check() {
  local label="$1" column="$2" group="$3" table
  batch=$((batch + 1))
  table="$work/flows-$batch"
  if [ "$column" = ok ]; then
    awk -v g="$group" '$1 == g { $1 = ""; $2 = ""; $3 = ""; print "ok" $0 }' "$e2e/flows.txt"
  else
    awk -v g="$group" -v c="$column" \
      '$1 == g && $c != "-" { v = $c; $1 = ""; $2 = ""; $3 = ""; print v $0 }' "$e2e/flows.txt"
  fi >"$table"
  if "$probe" check --netns-prefix "$prefix" --timeout-ms 2000 \
      --id-base $((20000 + 1000 * batch)) <"$table" >"$work/result-$batch" 2>&1; then
    say "$label: $(tail -n 1 "$work/result-$batch")"
  else
    grep -v '^pass' "$work/result-$batch" || true
    fail "$label: flows with the wrong verdict above"
  fi
}

# Runs the mac group while w1's interface carries a MAC that the model does not name.
check_mac() {
  local label="$1" column="$2"
  ip -n "${prefix}w1" link set eth0 address 02:00:00:00:00:99
  flush_neighbours
  check "$label" "$column" mac
  ip -n "${prefix}w1" link set eth0 address 02:00:00:00:00:01
  flush_neighbours
}

# Untracked flows (udp 4789 to the host over ext0) leave no conntrack entry in the host
# namespace; tracked ones (udp 5000 under model1) do, which proves the table is being read.
conntrack_table() {
  if in_ns h test -r /proc/net/nf_conntrack; then
    in_ns h cat /proc/net/nf_conntrack
  else
    in_ns h conntrack -L -f ipv4 2>/dev/null
    in_ns h conntrack -L -f ipv6 2>/dev/null
  fi
}
check_untracked() {
  local label="$1" want_tracked="$2" table
  if ! in_ns h test -r /proc/net/nf_conntrack && ! command -v conntrack >/dev/null; then
    fail "neither /proc/net/nf_conntrack nor conntrack(8): cannot check untracked flows"
  fi
  table="$(conntrack_table)"
  if grep -E '(d|s)port=4789( |$)' <<<"$table"; then
    fail "$label: untracked flows (udp 4789) have conntrack entries (above)"
  fi
  if [ "$want_tracked" = yes ]; then
    grep -q 'src=198.18.9.2 dst=198.18.9.1 sport=[0-9]* dport=5000' <<<"$table" ||
      fail "$label: no conntrack entry for the tracked flow x -> host udp 5000"
    # /proc writes IPv6 addresses in full, conntrack(8) shortened.
    grep -Eq 'src=fd5a:f1e1(::|:0000:0000:0000:0000:000)9:(000)?2 dst=fd5a:f1e1(::|:0000:0000:0000:0000:000)9:(000)?1 sport=[0-9]+ dport=5000' <<<"$table" ||
      fail "$label: no conntrack entry for the tracked flow x -> host udp6 5000"
  fi
  say "$label: no conntrack entry for untracked udp 4789"
}

# ---------------------------------------------------------------------------------------------
# Applying

# Rules that are not ours: every apply must leave them alone (a plan never touches
# what is not ours: fiptgen/plan.h).
add_foreign_rules() {
  local family
  for family in iptables ip6tables; do
    in_ns h "$family-$backend" -w -N KEEP-ME
    in_ns h "$family-$backend" -w -A KEEP-ME -j RETURN
    in_ns h "$family-$backend" -w -A INPUT -j KEEP-ME
    in_ns h "$family-$backend" -w -t raw -A PREROUTING -m comment --comment keep-me
  done
}
check_foreign_rules() {
  local family save
  for family in iptables ip6tables; do
    save="$(in_ns h "$family-$backend-save")"
    grep -q -- '^-A INPUT -j KEEP-ME$' <<<"$save" &&
      grep -q -- '^-A KEEP-ME -j RETURN$' <<<"$save" &&
      grep -q -- '^-A PREROUTING -m comment --comment keep-me$' <<<"$save" ||
      fail "$1: $family rules that are not fiptgen's were changed"
  done
}

# The host's state is exactly the generator's desired state (docs/chains.md, fiptgen/plan.h): the same felix
# chains with the same rules in the same order, hooks first in their built-in chains, the same
# sets with the same members, nothing left over from the previous model.
felix_rules_wanted() {  # restore-file table
  awk -v t="$2" '
    $0 == "*" t { on = 1; next }
    on && $0 == "COMMIT" { on = 0 }
    on && /^:felix-/ { print "chain " substr($1, 2) }
    on && /^-A felix-/ { print }
    on && /^-I [A-Z]+ 1 -j felix-/ { print "-A " $2 " -j " $5 " (first)" }' "$1"
}
felix_rules_saved() {  # save-output
  awk '
    /^:felix-/ { print "chain " substr($1, 2) }
    /^-A felix-/ { print }
    /^-A [A-Z]+ / { n[$2]++ }
    /^-A [A-Z]+ -j felix-[A-Z]+$/ { print $0 (n[$2] == 1 ? " (first)" : " (not first)") }'
}
check_state() {
  local label="$1" model="$2" gen="$work/state-$1" family table want got
  mkdir -p "$gen"
  "$fiptgen" --out "$gen" "$model" >/dev/null || fail "$label: fiptgen --out failed"
  for family in iptables ip6tables; do
    for table in raw filter; do
      want="$(felix_rules_wanted "$gen/$family.restore" "$table" | sort -s -k2,2)"
      got="$(in_ns h "$family-$backend-save" -t "$table" | felix_rules_saved | sort -s -k2,2)"
      if [ "$want" != "$got" ]; then
        diff <(echo "$want") <(echo "$got") | sed 's/^</  generated:/; s/^>/  in kernel:/'
        fail "$label: $family-save -t $table differs from the generated rules (above)"
      fi
    done
  done
  want="$(awk '$1 == "create" { print $1, $2, $3, $4, $5 } $1 == "add"' "$gen/ipsets.restore" | sort)"
  got="$(in_ns h ipset save | awk '$1 == "create" { print $1, $2, $3, $4, $5 } $1 == "add"' | sort)"
  if [ "$want" != "$got" ]; then
    diff <(echo "$want") <(echo "$got") | sed 's/^</  generated:/; s/^>/  in kernel:/'
    fail "$label: ipset save differs from the generated sets (above)"
  fi
  say "$label: iptables-save, ip6tables-save and ipset save match the generated state"
}

apply_model() {
  local label="$1" model="$2"
  local t0=$SECONDS
  in_ns h "$fiptgen_apply" --backend "$backend" "$model" >"$work/$label.log" 2>&1 ||
    { cat "$work/$label.log"; fail "$label: fiptgen-apply --backend $backend failed"; }
  # Cached neighbours could hide a broken rule set; conntrack is left alone (held connections
  # must survive) and each batch of probes uses fresh UDP ports and ICMP ids instead.
  flush_neighbours
  say "$label: applied $(basename "$model") in $((SECONDS - t0))s"
}

# Once applied, the plan against the kernel's state is empty: the dry run prints nothing.
check_idempotent() {
  local label="$1" model="$2" plan
  plan="$(in_ns h "$fiptgen_apply" --dry-run --backend "$backend" "$model" 2>"$work/$label.dry")" ||
    { cat "$work/$label.dry"; fail "$label: fiptgen-apply --dry-run failed"; }
  [ -z "$plan" ] || { echo "$plan"; fail "$label: the plan after applying is not empty (above)"; }
  say "$label: a second plan is empty"
}

# ---------------------------------------------------------------------------------------------
# Dispatch trees

# model1 plus 41 workloads whose interfaces never exist, chosen so that the dispatch chains
# become a tree (more than 32 interfaces, docs/chains.md) with the real tapw1 and tapw2 two subchains
# deep: tapv0 keeps the root at "tap", so felix-FROM-ENDPOINT sends tapw+ to a subchain
# (-EP-PFX-w), whose 32-plus interfaces split again by the next character (-EP-PFX-w1 holds
# tapw1 and tapw10..19; -EP-PFX-w3 holds tapw30..39 but not the unknown tapw3). Everything
# else is model1's, so its flows keep model1's verdicts.
make_tree_model() {  # out
  local out="$1" extras="$work/tree-extras" n
  {
    printf '    {"id": "fill-v0", "kind": "workload", "interface": "tapv0",'
    printf ' "ipv4_nets": ["198.18.2.200/32"], "ipv6_nets": ["fd5a:f1e1::2:200/128"],'
    printf ' "profile_ids": ["client"]},\n'
    for n in $(seq 10 49); do
      printf '    {"id": "fill-w%s", "kind": "workload", "interface": "tapw%s",' "$n" "$n"
      printf ' "ipv4_nets": ["198.18.2.%s/32"], "ipv6_nets": ["fd5a:f1e1::2:%s/128"],' "$n" "$n"
      printf ' "profile_ids": ["client"]},\n'
    done
  } >"$extras"
  awk -v extras="$extras" '
    { print }
    /^ *"endpoints": \[$/ { while ((getline line < extras) > 0) print line; n++ }
    END { exit n != 1 }' "$e2e/model1.json" >"$out" ||
    fail "could not add the extra endpoints to model1.json (no single \"endpoints\": [ line)"
}

# The chains a packet on IFACE walks through from ROOT, as the kernel would: in each dispatch
# chain the first rule whose -i/-o matches (exactly, or as a prefix with +) and its goto
# target (or the rule itself when it does not go to a chain), or the chain's last rule when
# none matches. Prints "ROOT -> … -> end".
dispatch_path() {  # save-file root flag iface
  awk -v chain="$2" -v flag="$3" -v iface="$4" '
    $1 == "-A" { n[$2]++; r[$2, n[$2]] = $0 }
    END {
      out = chain
      while (chain ~ /^felix-(FROM|TO)-(ENDPOINT$|EP-PFX-)/ && hops++ < 20) {
        target = "(falls off " chain ")"
        for (i = 1; i <= n[chain]; i++) {
          split(r[chain, i], f, " ")
          if (f[3] != flag) { target = substr(r[chain, i], length("-A " chain " ") + 1); break }
          x = f[4]
          if (x == iface || (x ~ /[+]$/ && index(iface, substr(x, 1, length(x) - 1)) == 1)) {
            target = f[5] == "-g" ? f[6] : substr(r[chain, i], length("-A " chain " ") + 1)
            break
          }
        }
        out = out " -> " target
        chain = target
      }
      print out
    }' "$1"
}

# The tree is in force in the kernel, both families, both directions: tapw1 and tapw2 reach
# their endpoint chains through at least two -EP-PFX- subchains, and the unknown tapw3 is
# dropped inside one.
check_tree() {
  local label="$1" family save dir root flag iface want path pfx shown=""
  for family in iptables ip6tables; do
    save="$work/$label-$family.save"
    in_ns h "$family-$backend-save" -t filter >"$save"
    for dir in from to; do
      if [ "$dir" = from ]; then root=felix-FROM-ENDPOINT flag=-i; else root=felix-TO-ENDPOINT flag=-o; fi
      for iface in tapw1 tapw2 tapw3; do
        if [ "$iface" = tapw3 ]; then want='-j DROP'; else want="felix-$dir-${iface#tap}"; fi
        path="$(dispatch_path "$save" "$root" "$flag" "$iface")"
        pfx="$(grep -o -- '-EP-PFX-' <<<"$path" | wc -l)"
        if [[ "$path" != *" $want" ]] || ((pfx < 2)); then
          fail "$label: $family $flag $iface: $path (wanted $want through two -EP-PFX- chains)"
        fi
        [ -n "$shown" ] || shown="$path"
      done
    done
  done
  say "$label: tree in force, v4 and v6, both directions, e.g. tapw1: $shown"
}

# After a flat model no subchain is left, in either family (check_state says the same,
# exactly; this says it in the words of the issue).
check_no_tree() {
  local label="$1" family
  for family in iptables ip6tables; do
    if in_ns h "$family-$backend-save" | grep -E -- '-(EP|IF)-PFX-'; then
      fail "$label: $family dispatch subchains are left over (above)"
    fi
  done
  say "$label: no -PFX- subchain left"
}

# ---------------------------------------------------------------------------------------------
# The test

check "no rules" ok main
check_mac "no rules, w1 with another MAC" ok

add_foreign_rules
apply_model model1 "$e2e/model1.json"
check_foreign_rules model1
check_state model1 "$e2e/model1.json"
check_idempotent model1 "$e2e/model1.json"
check model1 2 main
check_untracked model1 yes
check_mac "model1, w1 with another MAC" 2

# The same policy dispatched through a tree: model1's flows keep model1's verdicts; then
# model1 again, flat.
make_tree_model "$work/model3.json"
apply_model model3 "$work/model3.json"
check_foreign_rules model3
check_state model3 "$work/model3.json"
check_idempotent model3 "$work/model3.json"
check_tree model3
check "model3 (model1 through a tree)" 2 main
apply_model model1-again "$e2e/model1.json"
check_state model1-again "$e2e/model1.json"
check_no_tree model1-again
check_idempotent model1-again "$e2e/model1.json"

# Connections opened under model1 that model2 does not concern: they must survive the apply.
rm -f "$work/go"
"$probe" hold --netns-prefix "$prefix" --go "$work/go" w1 198.18.9.2 7000 >"$work/hold4" 2>&1 &
pids+=($!)
hold4=$!
"$probe" hold --netns-prefix "$prefix" --go "$work/go" w1 fd5a:f1e1::9:2 7000 >"$work/hold6" 2>&1 &
pids+=($!)
hold6=$!
for _ in $(seq 100); do
  grep -q held "$work/hold4" 2>/dev/null && grep -q held "$work/hold6" 2>/dev/null && break
  sleep 0.05
done
grep -q held "$work/hold4" && grep -q held "$work/hold6" ||
  fail "could not open the held connections: $(cat "$work/hold4" "$work/hold6")"

apply_model model2 "$e2e/model2.json"
check_foreign_rules model2
check_state model2 "$e2e/model2.json"
check_idempotent model2 "$e2e/model2.json"
check model2 3 main
check_untracked model2 no
check_mac "model2, w1 with another MAC" 3

touch "$work/go"
wait "$hold4" || fail "held tcp connection w1 -> x 198.18.9.2:7000 broke: $(cat "$work/hold4")"
wait "$hold6" || fail "held tcp connection w1 -> x [fd5a:f1e1::9:2]:7000 broke: $(cat "$work/hold6")"
say "held connections survived the apply of model2"

say "PASS ($backend)"
