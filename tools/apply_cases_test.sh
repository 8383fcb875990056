#!/usr/bin/env bash
# The faults an applier left running on real hosts must survive (README "The applier"), each
# reproduced on both backends in throwaway network namespaces:
#   1. killed between the rounds of a set-type change: the next run finishes it;
#   2. a run's time is bounded: a held xtables lock (legacy) and a foreign writer that keeps
#      nft transactions from committing make it fail cleanly within --timeout, the wait is
#      announced, it converges once they stop, and a killed applier leaves no child behind;
#   3. a stale set of ours that a foreign rule uses is kept and reported, and does not stop
#      the removal of the other stale sets;
#   4. foreign comments holding newlines (iptables-save prints them raw) neither stop a run
#      nor fool the planner with a fake hook or a fake rule of ours;
#   5. a foreign rule inserted before one of our hooks: the hook moves back to the top (and
#      --hooks append only makes sure it is there);
#   6. without --backend, the backend in use is found: the one holding our chains (refusing
#      when both do), else kubelet's hint chains, else the one with more rules, else nft;
#   7. the log tells what happened, after it happened: a change only once the kernel took
#      it, what was put back after a failure, a timestamp on every line, --quiet, --verbose;
# and what was built with them: --check (0 in sync, 3 drift with the plan, 1 on error, nothing
# changed) and --remove (everything of ours out, by the model's prefixes or the defaults).
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

# A model with one profile of 20,000 rules. Small models commit between the foreign writer's
# changes; one nft transaction of this size never does while the writer runs (measured: the
# small bench model commits in 0.2-0.7 s under the same writer, 10,000 rules not in 10 s; this
# is twice that, for a faster machine), and it still applies in about a second on its own.
big_model() {
  local i
  {
    printf '{"config": {"families": [4]}, "endpoints": [{"id": "w1", "kind": "workload",'
    printf ' "interface": "tapw1", "ipv4_nets": ["198.18.1.1/32"], "profile_ids": ["big"]}],'
    printf ' "profiles": {"big": {"inbound_rules": [{"protocol": "tcp", "dst_ports": [1]}'
    for ((i = 2; i <= 20000; i++)); do printf ', {"protocol": "tcp", "dst_ports": [%d]}' "$i"; done
    printf ']}}}\n'
  } >"$1"
}

# The applier's restore tool once it has been running for half a second (waiting for the lock,
# or starting over): its pid goes to $child.
wait_for_child() {
  local i p seen="" count=0
  child=""
  for ((i = 0; i < 200; i++)); do
    p=$(pgrep -P "$1" -f -- '-restore' | head -1)
    if [ -n "$p" ] && [ "$p" = "$seen" ]; then
      count=$((count + 1))
      [ "$count" -ge 5 ] && child=$p && return 0
    else
      seen=$p count=0
    fi
    sleep 0.1
  done
  return 1
}

# Runs the applier in the background (stdout/stderr as run_apply); its pid goes to $applier.
start_apply() {
  ip netns exec "$ns" "$apply" "$@" >"$tmp/out" 2>"$tmp/err" &
  applier=$!
}

# Kills the applier while its child runs: the child must go too.
kill_mid_run() {
  wait_for_child "$applier" || { fail "$what: the applier started no child: $(cat "$tmp/err")"; kill -KILL "$applier"; return; }
  kill -KILL "$applier"
  wait "$applier" 2>/dev/null
  sleep 0.3
  # A zombie is dead: it waits only for init to reap it.
  if [ -n "$(ps -o stat= -p "$child" | grep -v Z)" ]; then
    fail "$what: the killed applier left its child running: $(ps -o args= -p "$child")"
    kill -KILL "$child"
  fi
}

# Runs the applier with --timeout 4: it must give up with exit 4, in time.
stops_at_the_limit() {
  local start rc elapsed
  start=$(date +%s%N)
  run_apply --timeout 4 "$@"
  rc=$?
  elapsed=$((($(date +%s%N) - start) / 1000000))
  [ "$rc" = 4 ] || fail "$what: exit $rc, not 4: $(cat "$tmp/err")"
  [ "$elapsed" -lt 6000 ] || fail "$what: took $elapsed ms with --timeout 4"
}

# 2. Time is bounded. legacy: another program holds the xtables lock; nft: another program
# changes the ruleset every few milliseconds, so nft transactions start over forever.
case_2() {
  local model="$plans/from_empty/after.json"
  if [ "$backend" = legacy ]; then
    what="$backend case 2 (xtables lock held)"
    new_ns
    touch "$XTABLES_LOCKFILE"
    start_group flock -x "$XTABLES_LOCKFILE" sleep 30
    local holder=$group
    sleep 0.2
    stops_at_the_limit --backend legacy "$model"
    grep -q 'waiting for the xtables lock' "$tmp/err" || fail "$what: the wait was not announced: $(cat "$tmp/err")"
    grep -q 'the previous rules are in force' "$tmp/err" || fail "$what: no word on the state left: $(cat "$tmp/err")"
    holds_ours legacy && fail "$what: half a ruleset was left"
    what="$backend case 2 (killed while waiting for the lock)"
    start_apply --backend legacy "$model"
    kill_mid_run
    what="$backend case 2 (lock released)"
    stop_group "$holder"
    converges --backend legacy "$model"
  else
    what="$backend case 2 (a foreign writer keeps nft from committing)"
    new_ns
    big_model "$tmp/big.json"
    start_group sh -c "yes '$(printf '*filter\n-A INPUT -s 192.0.2.9 -j ACCEPT\nCOMMIT\n*filter\n-D INPUT -s 192.0.2.9 -j ACCEPT\nCOMMIT')' | ip netns exec $ns iptables-nft-restore --noflush"
    local writer=$group
    sleep 0.3
    stops_at_the_limit --backend nft "$tmp/big.json"
    grep -q 'did not finish' "$tmp/err" || fail "$what: no clear message: $(cat "$tmp/err")"
    what="$backend case 2 (killed while nft starts over)"
    start_apply --backend nft "$tmp/big.json"
    kill_mid_run
    what="$backend case 2 (writer stopped)"
    stop_group "$writer"
    converges --backend nft "$tmp/big.json"
  fi
}

# 7. A run whose filter step the kernel refuses after raw was committed.
case_7() {
  local model="$plans/from_empty/after.json" t real
  what="$backend case 7 (log of a run put back)"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  sed -e 's/4789/4790/' -e 's/^\( *\)179$/\1180/' \
    -e 's|"198.19.0.0/16"|"198.19.0.0/16", "198.20.0.0/16"|' "$model" >"$tmp/changed.json"
  grep -q 4790 "$tmp/changed.json" && grep -q 180 "$tmp/changed.json" && grep -q 198.20 "$tmp/changed.json" ||
    { fail "$what: bad sed"; return; }
  # The wrapper breaks one filter rule when it is applied for real (not under --test).
  mkdir -p "$tmp/refuse"
  for t in iptables ip6tables; do
    real=$(command -v "$t-$backend-restore")
    {
      echo '#!/bin/sh'
      echo "case \" \$* \" in *\" --test \"*) exec \"$real\" \"\$@\" ;; esac"
      echo "sed 's/^\\(-[AIR] felix-p-host-base-i .*\\)-j MARK .*/\\1-j felix-NOPE/' | \"$real\" \"\$@\""
    } >"$tmp/refuse/$t-$backend-restore"
    chmod +x "$tmp/refuse/$t-$backend-restore"
  done
  local before
  before=$(rules)
  if in_ns env PATH="$tmp/refuse:$PATH" "$apply" --backend "$backend" "$tmp/changed.json" \
    >"$tmp/out" 2>"$tmp/err"; then
    fail "$what: the applier succeeded"
  fi
  [ "$(rules)" = "$before" ] || fail "$what: the rules were not put back"
  grep -Eq 'felix-p-host-base-i (refilled|edited)' "$tmp/err" &&
    fail "$what: logs a change the kernel refused: $(grep -E 'host-base-i (refilled|edited)' "$tmp/err")"
  grep 'v4 raw: chain felix-p-fastpath-i edited' "$tmp/err" | grep -vq 'put back' ||
    fail "$what: the raw change that was made is not logged: $(cat "$tmp/err")"
  grep -q 'put back: v4 raw: chain felix-p-fastpath-i edited' "$tmp/err" ||
    fail "$what: does not say what was put back: $(cat "$tmp/err")"
  grep -q 'put back: ipset: set felix-blocklist' "$tmp/err" ||
    fail "$what: does not say the set was put back: $(cat "$tmp/err")"
  # What happened comes in the order it happened: the raw change, the refusal, the put back.
  local made refused back
  made=$(grep -n 'v4 raw: chain felix-p-fastpath-i edited' "$tmp/err" | grep -v 'put back' | head -1 | cut -d: -f1)
  refused=$(grep -n 'error: .*failed at plan line' "$tmp/err" | head -1 | cut -d: -f1)
  back=$(grep -n 'put back: v4 raw' "$tmp/err" | head -1 | cut -d: -f1)
  [ -n "$made" ] && [ -n "$refused" ] && [ -n "$back" ] && [ "$made" -lt "$refused" ] && [ "$refused" -lt "$back" ] ||
    fail "$what: not in the order it happened ($made, $refused, $back): $(cat "$tmp/err")"
  grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z fiptgen-apply: ' "$tmp/err" &&
    fail "$what: a line without its timestamp: $(grep -vE '^[0-9]{4}-' "$tmp/err" | head -3)"

  what="$backend case 7 (--quiet, --verbose)"
  run_apply --backend "$backend" --quiet "$tmp/changed.json" || fail "$what: --quiet failed: $(cat "$tmp/err")"
  [ -s "$tmp/err" ] && fail "$what: --quiet printed: $(cat "$tmp/err")"
  run_apply --backend "$backend" --verbose "$model" || fail "$what: --verbose failed: $(cat "$tmp/err")"
  grep -q "ran iptables-$backend-restore --noflush" "$tmp/err" || fail "$what: --verbose does not say what it ran: $(cat "$tmp/err")"
}

# --check changes nothing and says in sync / drift / error by its exit status.
case_check() {
  local model="$plans/from_empty/after.json" before rc
  what="$backend --check"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  run_apply --backend "$backend" --check "$model"
  rc=$?
  [ "$rc" = 0 ] && [ ! -s "$tmp/out" ] || fail "$what: in sync: exit $rc: $(cat "$tmp/out" "$tmp/err")"
  in_ns "iptables-$backend" -D felix-from-w1 2
  in_ns "ip6tables-$backend" -I INPUT 1 -j ACCEPT
  before=$(rules)
  run_apply --backend "$backend" --check "$model"
  rc=$?
  [ "$rc" = 3 ] || fail "$what: drift: exit $rc, not 3: $(cat "$tmp/err")"
  grep -q -- '^-I felix-from-w1 2 ' "$tmp/out" && grep -qx -- '-I INPUT 1 -j felix-INPUT' "$tmp/out" ||
    fail "$what: the plan that fixes the drift is not on stdout: $(cat "$tmp/out")"
  grep -q 'drift: v4 filter: chain felix-from-w1 edited: 1 inserted' "$tmp/err" || fail "$what: the drift is not named: $(cat "$tmp/err")"
  [ "$(rules)" = "$before" ] || fail "$what: --check changed something"
  # The tool the state is read with: on nft each table is listed (iptables-nft -t raw -S).
  local reader="iptables-$backend-save"
  [ "$backend" = nft ] && reader=iptables-nft
  mkdir -p "$tmp/nosave"
  printf '#!/bin/sh\necho "cannot read" >&2\nexit 1\n' >"$tmp/nosave/$reader"
  chmod +x "$tmp/nosave/$reader"
  in_ns env PATH="$tmp/nosave:$PATH" "$apply" --backend "$backend" --check "$model" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ "$rc" = 1 ] || fail "$what: error: exit $rc, not 1: $(cat "$tmp/err")"
}

# --remove takes hooks, chains and sets of ours out, by the model's prefixes, or the defaults
# without one; foreign rules and sets stay.
case_remove() {
  local model="$plans/from_empty/after.json" foreign_before sets_before
  what="$backend --remove"
  new_ns
  run_apply --backend "$backend" "$model" || { fail "$what: setup: $(cat "$tmp/err")"; return; }
  add_foreign
  in_ns ipset create KUBE-X hash:ip
  sed -e 's/"chain_prefix": "felix-"/"chain_prefix": "fx-"/' \
    -e 's/"ipset_prefix": "felix-"/"ipset_prefix": "fx-"/' "$model" >"$tmp/fx.json"
  grep -q '"fx-"' "$tmp/fx.json" || { fail "$what: bad sed"; return; }
  run_apply --backend "$backend" "$tmp/fx.json" || { fail "$what: setup fx: $(cat "$tmp/err")"; return; }
  foreign_before=$(rules | grep -v -e felix- -e fx-)
  sets_before=$(sets | grep -v -e felix- -e fx-)
  run_apply --backend "$backend" --remove --dry-run || fail "$what: the dry run failed: $(cat "$tmp/err")"
  grep -qx -- '-X felix-INPUT' "$tmp/out" || fail "$what: the dry run does not plan it: $(cat "$tmp/out")"
  converges --backend "$backend" --remove || return
  rules | grep -q 'felix-' && fail "$what: rules of ours are left: $(rules | grep felix- | head -3)"
  sets | grep -q 'felix-' && fail "$what: sets of ours are left: $(sets | grep felix-)"
  rules | grep -q -- '-j fx-INPUT' || fail "$what: took the fx- chains, which the defaults do not name"
  run_apply --backend "$backend" --check --remove || fail "$what: --check --remove after removal: $(cat "$tmp/err")"
  converges --backend "$backend" --remove "$tmp/fx.json" || return
  rules | grep -q 'fx-' && fail "$what: fx- rules are left"
  sets | grep -q 'fx-' && fail "$what: fx- sets are left"
  [ "$(rules | grep -v -e felix- -e fx-)" = "$foreign_before" ] || fail "$what: foreign rules changed"
  [ "$(sets | grep -v -e felix- -e fx-)" = "$sets_before" ] || fail "$what: foreign sets changed"
}

for backend in nft legacy; do
  for c in 1 2 3 4 5 6 7 check remove; do
    if wanted "$c"; then "case_$c"; fi
  done
done

echo "$ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
