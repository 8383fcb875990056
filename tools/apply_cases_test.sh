#!/usr/bin/env bash
# The faults an applier left running on real hosts must survive (README "The applier"), each
# reproduced on both backends in throwaway network namespaces:
#   1. killed between the rounds of a set-type change: the next run finishes it;
#   3. a stale set of ours that a foreign rule uses is kept and reported, and does not stop
#      the removal of the other stale sets;
#   4. foreign comments holding newlines (iptables-save prints them raw) neither stop a run
#      nor fool the planner with a fake hook or a fake rule of ours;
#   5. a foreign rule inserted before one of our hooks: the hook moves back to the top (and
#      --hooks append only makes sure it is there);
#   6. without --backend, the backend in use is found: the one holding our chains (refusing
#      when both do), else kubelet's hint chains, else the one with more rules, else nft;
# Needs root; says SKIPPED otherwise. Never touches the machine's own namespace.
#
#   apply_cases_test.sh FIPTGEN_APPLY PLANS_DIR [CASE...]
# With CASEs (e.g. "1 3"), runs only those.
set -u
apply=$(realpath "$1")
plans=$(realpath "$2")
shift 2
only=" $* "
. "$(dirname "$0")/apply_test_lib.sh"

wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }

# 1. Killed after the rules were switched to the temporary felix-tmp-* set but before the
# second round: every later run must finish the change instead of failing to destroy the
# temporary set the rules use.
case_1() {
  local dir="$plans/tag_set_type_changed"
  what="$backend case 1 (interrupted set-type change)"
  new_ns
  run_apply --backend "$backend" "$dir/before.json" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  add_foreign
  local foreign_before
  foreign_before=$(foreign_rules)
  make_killers "$tmp/kill"
  in_ns env PATH="$tmp/kill:$PATH" FG_COUNT="$tmp/count1" FG_KILL_AFTER='ip*tables-*-restore' \
    "$apply" --backend "$backend" "$dir/after.json" >"$tmp/out" 2>"$tmp/err"
  if ! rules | grep -q -- '--match-set felix-tmp-v4-web'; then
    fail "$what: setup: the kill did not leave the rules on the temporary set"
    return
  fi
  converges --backend "$backend" "$dir/after.json" || return
  sets | grep -q 'felix-tmp-' && fail "$what: a temporary set is left: $(sets)"
  sets | grep -q '^create felix-v4-web hash:net family inet' || fail "$what: felix-v4-web: $(sets)"
  rules | grep -q -- '--match-set felix-tmp-' && fail "$what: a rule still names a temporary set"
  [ "$(foreign_rules)" = "$foreign_before" ] || fail "$what: foreign rules changed"
}

# 3. A foreign rule uses one of our sets, which the model no longer wants; so do the others.
case_3() {
  what="$backend case 3 (stale set used by a foreign rule)"
  new_ns
  run_apply --backend "$backend" "$plans/from_empty/after.json" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  in_ns "iptables-$backend" -A FORWARD -m set --match-set felix-blocklist src -j DROP
  echo '{"endpoints": []}' >"$tmp/none.json"
  converges --backend "$backend" "$tmp/none.json" || return
  grep -q 'felix-blocklist.*kept: a foreign rule in v4 filter chain FORWARD uses it' "$tmp/err" ||
    fail "$what: no word on the kept set: $(cat "$tmp/err")"
  sets | grep -q '^create felix-blocklist ' || fail "$what: the set the foreign rule uses went"
  sets | grep -q 'felix-v[46]-web' && fail "$what: the other stale sets are left: $(sets)"
  in_ns "iptables-$backend-save" | grep -q -- '-A FORWARD -m set --match-set felix-blocklist src -j DROP' ||
    fail "$what: the foreign rule changed"
}

# 4. Foreign rules whose comments hold newlines: one plain, one faking our INPUT hook (which
# is missing), one faking an extra rule in our chain (which would refill it every run).
case_4() {
  local model="$plans/from_empty/after.json" ipt="iptables-$backend"
  what="$backend case 4 (newlines in foreign comments)"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  in_ns "$ipt" -A INPUT -m comment --comment "$(printf 'line one\nline two')" -j ACCEPT
  in_ns "$ipt" -A INPUT -m comment --comment "$(printf 'x\n-A INPUT -j felix-INPUT\n-A INPUT -m comment --comment y')" -j ACCEPT
  in_ns "$ipt" -A INPUT -m comment --comment "$(printf 'z\n-A felix-FORWARD -j DROP\n-A INPUT -m comment --comment z')" -j ACCEPT
  in_ns "$ipt" -D INPUT -j felix-INPUT
  local foreign_before
  foreign_before=$(in_ns "$ipt-save" | grep -v '^#' | grep -v felix-INPUT)
  if ! run_apply --backend "$backend" --dry-run "$model"; then
    fail "$what: the dry run failed: $(cat "$tmp/err")"
  fi
  grep -qx -- '-I INPUT 1 -j felix-INPUT' "$tmp/out" || fail "$what: the dry run does not plan the missing hook: $(cat "$tmp/out" "$tmp/err")"
  grep -q 'apply cleanly to a copy' "$tmp/err" || fail "$what: the rehearsal did not run cleanly: $(cat "$tmp/err")"
  converges --backend "$backend" "$model" || return
  in_ns "$ipt" -C INPUT -j felix-INPUT 2>/dev/null || fail "$what: the hook is still missing"
  [ "$(in_ns "$ipt-save" | grep -v '^#' | grep -v felix-INPUT)" = "$foreign_before" ] ||
    fail "$what: foreign rules changed"
}

# The first rule of a built-in chain, family 4 or 6.
first_rule() {
  in_ns "$([ "$1" = 6 ] && echo ip6tables || echo iptables)-$backend-save" -t "$2" |
    grep -m1 "^-A $3 "
}

# 5. Foreign ACCEPTs inserted at the top of built-in chains, before our hooks.
case_5() {
  local model="$plans/from_empty/after.json" t
  what="$backend case 5 (a foreign rule before our hook)"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  for t in "iptables-$backend" "ip6tables-$backend"; do
    in_ns "$t" -I INPUT 1 -j ACCEPT
    in_ns "$t" -t raw -I PREROUTING 1 -j ACCEPT
  done
  local foreign_before
  foreign_before=$(foreign_rules)
  run_apply --backend "$backend" --dry-run "$model"
  grep -qx -- '-D INPUT -j felix-INPUT' "$tmp/out" && grep -qx -- '-I INPUT 1 -j felix-INPUT' "$tmp/out" ||
    fail "$what: the plan does not move the hook: $(cat "$tmp/out" "$tmp/err")"
  converges --backend "$backend" "$model" || return
  [ "$(first_rule 4 filter INPUT)" = "-A INPUT -j felix-INPUT" ] || fail "$what: v4 INPUT starts with $(first_rule 4 filter INPUT)"
  [ "$(first_rule 6 filter INPUT)" = "-A INPUT -j felix-INPUT" ] || fail "$what: v6 INPUT starts with $(first_rule 6 filter INPUT)"
  [ "$(first_rule 4 raw PREROUTING)" = "-A PREROUTING -j felix-PREROUTING" ] || fail "$what: v4 raw PREROUTING starts with $(first_rule 4 raw PREROUTING)"
  [ "$(foreign_rules)" = "$foreign_before" ] || fail "$what: foreign rules changed"

  # Append mode: a missing hook is appended, one behind a foreign rule stays where it is.
  what="$backend case 5 (--hooks append)"
  in_ns "iptables-$backend" -I INPUT 1 -j ACCEPT
  in_ns "iptables-$backend" -D FORWARD -j felix-FORWARD
  in_ns "iptables-$backend" -A FORWARD -j ACCEPT
  converges --backend "$backend" --hooks append "$model" || return
  [ "$(first_rule 4 filter INPUT)" = "-A INPUT -j ACCEPT" ] || fail "$what: the hook moved"
  in_ns "iptables-$backend-save" | grep -A1 -x -- '-A FORWARD -j ACCEPT' | grep -qx -- '-A FORWARD -j felix-FORWARD' ||
    fail "$what: the missing hook was not appended: $(in_ns "iptables-$backend-save" | grep '^-A FORWARD')"
}

# Whether a backend holds any chain of ours.
holds_ours() { in_ns "iptables-$1-save" 2>/dev/null | grep -q "^:felix-"; }

# 6. No --backend: our rules live in $backend, or its hints or rules say it is the one in use.
case_6() {
  local model="$plans/from_empty/after.json" other
  other=$([ "$backend" = nft ] && echo legacy || echo nft)
  what="$backend case 6 (our chains there)"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  converges "$model" || return
  holds_ours "$other" && fail "$what: a second ruleset went into $other"
  grep -q "backend $backend: our chains are there" "$tmp/err" || fail "$what: no word on the backend: $(cat "$tmp/err")"

  what="$backend case 6 (our chains in both)"
  run_apply --backend "$other" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  local before
  before=$(rules)
  if run_apply "$model"; then fail "$what: the run did not refuse"; fi
  grep -q 'our chains are in both the nft and the legacy backend' "$tmp/err" || fail "$what: no clear error: $(cat "$tmp/err")"
  [ "$(rules)" = "$before" ] || fail "$what: something changed"

  what="$backend case 6 (kubelet's hint)"
  new_ns
  in_ns "iptables-$backend" -t mangle -N KUBE-IPTABLES-HINT
  in_ns "iptables-$other" -A INPUT -s 192.0.2.1 -j ACCEPT  # more rules there: the hint wins
  in_ns "iptables-$other" -A INPUT -s 192.0.2.2 -j ACCEPT
  converges "$model" || return
  holds_ours "$backend" || fail "$what: our chains are not in $backend: $(cat "$tmp/err")"
  holds_ours "$other" && fail "$what: our chains went into $other"

  what="$backend case 6 (more rules)"
  new_ns
  in_ns "iptables-$backend" -A INPUT -s 192.0.2.1 -j ACCEPT
  converges "$model" || return
  holds_ours "$backend" || fail "$what: our chains are not in $backend: $(cat "$tmp/err")"
  holds_ours "$other" && fail "$what: our chains went into $other"
}

for backend in nft legacy; do
  for c in 1 3 4 5 6; do
    if wanted "$c"; then "case_$c"; fi
  done
done

echo "$ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
