#!/usr/bin/env bash
# The faults an applier left running on real hosts must survive (README "The applier"), each
# reproduced on both backends in throwaway network namespaces:
#   1. killed between the rounds of a set-type change: the next run finishes it;
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

for backend in nft legacy; do
  for c in 1; do
    if wanted "$c"; then "case_$c"; fi
  done
done

echo "$ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
