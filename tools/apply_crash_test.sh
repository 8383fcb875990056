#!/usr/bin/env bash
# Crash safety of fiptgen-apply (README "The applier"), proven step by step on both backends:
# for a first apply, an ordinary change and a set-type change (two rounds), the applier is
# SIGKILLed right after each call that changes the kernel (ipset restore, a table's
# iptables-restore) - by PATH wrappers around the real tools, so the binary needs no test
# hook - and then the next run must converge to the state an uninterrupted run gives, the run
# after it must change nothing, and the foreign rules must be as they were.
# Needs root; says SKIPPED otherwise. Never touches the machine's own namespace.
#
#   apply_crash_test.sh FIPTGEN_APPLY PLANS_DIR
set -u
apply=$(realpath "$1")
plans=$(realpath "$2")
. "$(dirname "$0")/apply_test_lib.sh"

make_killers "$tmp/kill"
killed_runs=0

# Sets up a namespace in the state before the run: the model applied (none: empty), then
# foreign rules.
start_state() {
  new_ns
  if [ -n "$1" ]; then
    run_apply --backend "$backend" "$1" || { fail "$what: setup: $(cat "$tmp/err")"; return 1; }
  fi
  add_foreign
}

# The applier run with the wrappers; killed after change number $1 (none: not killed). The
# number of changes it made goes to $changes.
wrapped_apply() {
  rm -f "$tmp/count"
  in_ns env PATH="$tmp/kill:$PATH" FG_COUNT="$tmp/count" FG_KILL_AT="$1" \
    "$apply" --backend "$backend" "$2" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  changes=$(cat "$tmp/count" 2>/dev/null || echo 0)
  return $rc
}

scenario() {
  local name=$1 before=$2 after=$3 n steps converged foreign
  what="$backend $name"
  start_state "$before" || return
  foreign=$(foreign_rules)
  wrapped_apply "" "$after" || { fail "$what: the uninterrupted run failed: $(cat "$tmp/err")"; return; }
  steps=$changes
  converged="$(rules)
$(sets)"
  [ "$steps" -ge 2 ] || { fail "$what: only $steps changes to interrupt"; return; }
  for ((n = 1; n <= steps; n++)); do
    what="$backend $name, killed after change $n of $steps"
    start_state "$before" || return
    wrapped_apply "$n" "$after" && { fail "$what: the applier was not killed"; continue; }
    [ "$changes" = "$n" ] || { fail "$what: killed after $changes changes"; continue; }
    killed_runs=$((killed_runs + 1))
    converges --backend "$backend" "$after" || continue
    [ "$(rules)
$(sets)" = "$converged" ] || fail "$what: converged elsewhere: $(diff <(echo "$converged") <(rules; sets) | head -5)"
    [ "$(foreign_rules)" = "$foreign" ] || fail "$what: foreign rules changed"
    ip netns del "$ns"
  done
}

for backend in nft legacy; do
  scenario "first apply" "" "$plans/from_empty/after.json"
  scenario "ordinary change" "$plans/endpoint_changed/before.json" "$plans/endpoint_changed/after.json"
  scenario "set-type change" "$plans/tag_set_type_changed/before.json" \
    "$plans/tag_set_type_changed/after.json"
done

echo "$killed_runs runs killed, $ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
