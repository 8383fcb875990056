#!/usr/bin/env bash
# Kernel test of rule-level edits (docs/decisions.md, "Plans"): the rules that a change leaves
# alone keep their packet and byte counters, on both backends (nft, legacy).
#
# In throwaway network namespaces (apply_test_lib.sh's, always deleted): a host namespace whose
# eth0 is one end of a veth pair, a peer namespace at the other end. fiptgen-apply loads a
# model whose host endpoint eth0 has a profile of UDP rules; the peer sends 1 packet to port
# 1001, 2 to 1002, ... 6 to 1006, and the host 2 packets to itself over lo (which our dispatch
# chain RETURNs). Then a model that removes one rule of the profile, adds one, moves one and
# adds a host endpoint (a rule inserted into felix-FROM-HOST-IF) is applied, and
# `iptables-save -c` must show every rule that did not change with the counters it had.
# Needs root; says SKIPPED otherwise. Never touches the machine's own namespace.
#
#   counters_kernel_test.sh FIPTGEN_APPLY
set -u

apply=$(realpath "$1")
. "$(dirname "$0")/apply_test_lib.sh"

# The models: a profile of UDP rules (allow is a MARK rule and a RETURN on the mark; deny one
# DROP rule) on host endpoint eth0; after it, 1002 is gone, 1010 is new, 1006 moved up, and
# host endpoint eth1 is new.
rule() { echo "{\"action\": \"$1\", \"protocol\": \"udp\", \"dst_ports\": [$2]}"; }
model() {  # profile rules, extra endpoints
  cat <<EOF
{"config": {"families": [4]},
 "endpoints": [{"id": "uplink", "kind": "host", "interface": "eth0",
                "ipv4_nets": ["10.99.0.1/32"], "profile_ids": ["svc"]}$2],
 "profiles": {"svc": {"inbound_rules": [$1], "outbound_rules": [{"action": "allow"}]}}}
EOF
}
model "$(rule allow 1001), $(rule deny 1002), $(rule allow 1003), $(rule allow 1004),
       $(rule allow 1005), $(rule allow 1006)" "" >"$tmp/before.json"
model "$(rule allow 1010), $(rule allow 1001), $(rule allow 1006), $(rule allow 1003),
       $(rule allow 1004), $(rule allow 1005)" ',
       {"id": "backup", "kind": "host", "interface": "eth1", "ipv4_nets": ["10.99.1.1/32"],
        "profile_ids": ["svc"]}' >"$tmp/after.json"

# The counters ("[packets:bytes]") of rule `n` (1-based) of `chain` in save text `file` (of
# the filter table alone: raw has a felix-FROM-HOST-IF too).
counters() {
  awk -v chain="$2" -v n="$3" '$2 == "-A" && $3 == chain && ++i == n {print $1}' "$1"
}
# The number (1-based) of the rule of `chain` in `file` that ends with `text`; the first one.
position() {
  awk -v chain="$2" -v text="$3" '$2 == "-A" && $3 == chain {
      ++i; if (substr($0, length($0) - length(text) + 1) == text) {print i; exit}}' "$1"
}
mark=" -j MARK --set-xmark 0x1000000/0x1000000"

for backend in nft legacy; do
  what="$backend"
  new_ns
  host=$ns
  new_ns
  peer=$ns
  ip link add fgc-h netns "$host" type veth peer name fgc-p netns "$peer"
  ip -n "$host" link set fgc-h name eth0
  ip -n "$host" addr add 10.99.0.1/24 dev eth0
  ip -n "$peer" addr add 10.99.0.2/24 dev fgc-p
  for ns in "$host" "$peer"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$host" link set eth0 up
  ip -n "$peer" link set fgc-p up
  for _ in $(seq 50); do  # until the peer reaches the host (our chains are not loaded yet)
    ip netns exec "$peer" ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 && break
    sleep 0.1
  done

  if ! ip netns exec "$host" "$apply" --backend "$backend" "$tmp/before.json" 2>"$tmp/err"; then
    fail "$what: applying the first model failed: $(cat "$tmp/err")"
    continue
  fi
  for port in 1001 1002 1003 1004 1005 1006; do
    for _ in $(seq $((port - 1000))); do
      ip netns exec "$peer" bash -c "echo x >/dev/udp/10.99.0.1/$port" 2>/dev/null
    done
  done
  for _ in 1 2; do
    ip netns exec "$host" bash -c "echo x >/dev/udp/127.0.0.1/9" 2>/dev/null
  done
  sleep 0.5
  ip netns exec "$host" "iptables-$backend-save" -c -t filter >"$tmp/before.save"

  if ! ip netns exec "$host" "$apply" --backend "$backend" "$tmp/after.json" 2>"$tmp/err"; then
    fail "$what: applying the changed model failed: $(cat "$tmp/err")"
    continue
  fi
  grep -q 'v4 filter: chain felix-p-svc-i edited: ' "$tmp/err" ||
    fail "$what: felix-p-svc-i was not edited: $(cat "$tmp/err")"
  ip netns exec "$host" "iptables-$backend-save" -c -t filter >"$tmp/after.save"

  # Each kept rule: packets before as sent, and the same counters after, wherever it now is.
  # An allow rule is checked with the RETURN after it.
  for port in 1001 1003 1004 1005; do
    sent=$((port - 1000))
    at_before=$(position "$tmp/before.save" felix-p-svc-i "--dports $port$mark")
    at_after=$(position "$tmp/after.save" felix-p-svc-i "--dports $port$mark")
    if [ -z "$at_before" ] || [ -z "$at_after" ]; then
      fail "$what: the allow rule for port $port is missing"
      continue
    fi
    for offset in 0 1; do
      was=$(counters "$tmp/before.save" felix-p-svc-i $((at_before + offset)))
      now=$(counters "$tmp/after.save" felix-p-svc-i $((at_after + offset)))
      case "$was" in
        "[$sent:"*) ;;
        *) fail "$what: port $port, rule +$offset: counters $was, not $sent packets" ;;
      esac
      [ "$now" = "$was" ] || fail "$what: port $port, rule +$offset: counters $was became $now"
    done
  done
  # The moved and the new rule start from nothing: they are new rules.
  for port in 1006 1010; do
    at=$(position "$tmp/after.save" felix-p-svc-i "--dports $port$mark")
    [ "$(counters "$tmp/after.save" felix-p-svc-i "$at")" = "[0:0]" ] ||
      fail "$what: the rule for port $port kept counters it should not have"
  done
  grep -q -- '--dports 1002 ' "$tmp/after.save" && fail "$what: the rule for port 1002 is still there"
  # The dispatch chain got a rule in the middle; the rules around it keep their counters
  # (the RETURN is the one the lo packets took).
  for rule in "-i eth0 -g felix-from-eth0" "-j RETURN"; do
    was=$(counters "$tmp/before.save" felix-FROM-HOST-IF "$(position "$tmp/before.save" felix-FROM-HOST-IF "$rule")")
    now=$(counters "$tmp/after.save" felix-FROM-HOST-IF "$(position "$tmp/after.save" felix-FROM-HOST-IF "$rule")")
    case "$was" in "[0:"* | "") fail "$what: felix-FROM-HOST-IF $rule: no packets before ($was)" ;; esac
    [ "$now" = "$was" ] || fail "$what: felix-FROM-HOST-IF $rule: counters $was became $now"
  done
  grep -q -- '-A felix-FROM-HOST-IF -i eth1 -g felix-from-eth1$' "$tmp/after.save" ||
    fail "$what: the new host endpoint is not dispatched"
  if [ "$failures" != 0 ]; then
    echo "== $what: before"
    grep -E 'felix-(p-svc-i|FROM-HOST-IF)' "$tmp/before.save"
    echo "== $what: after"
    grep -E 'felix-(p-svc-i|FROM-HOST-IF)' "$tmp/after.save"
  fi
done

echo "$ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
