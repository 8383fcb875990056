#!/usr/bin/env bash
# The simulator against the kernel: every golden case (its flows.txt and random flows) and
# seeded random models, each flow a real packet between network namespaces, with no rules
# (everything must arrive), then with each iptables backend (the kernel's verdict must be the
# simulator's). See e2e/README.md.
#
#   kernel_diff_test.sh [--random-models N] [--random-flows N] [--golden-random-flows N]
#                       [--seed S] [--backends nft,legacy] [--jobs J] [--min-flows N]
#                       [--cases "example tags ..."] [--keep DIR]
#
# Defaults are the CI run (about a minute on two cores): 10 random models of 150 flows, 60
# random flows per golden case, seed 1. A longer run: --random-models 200 --random-flows 400
# --seed 42 (see e2e/README.md). Needs root; as another user it prints SKIPPED and passes.
# Namespaces are fkd<pid>-<n>{h,p}, every one deleted on exit; no packet leaves them.
set -Euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

random_models=10 random_flows=150 golden_random=60 seed=1 backends=nft,legacy jobs=2
min_flows=2000 cases="" keep=""
while (($#)); do
  case "$1" in
    --random-models) random_models="$2"; shift 2 ;;
    --random-flows) random_flows="$2"; shift 2 ;;
    --golden-random-flows) golden_random="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --backends) backends="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --min-flows) min_flows="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "usage: $0 [--random-models N] [--random-flows N] [--golden-random-flows N] [--seed S] [--backends nft,legacy] [--jobs J] [--min-flows N] [--cases LIST] [--keep DIR]" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: kernel_diff needs root (network namespaces, iptables)"
  exit 0
fi

if [ -n "${TEST_SRCDIR:-}" ]; then
  root="$TEST_SRCDIR/${TEST_WORKSPACE:-fiptgen}"
  bin="$root"
else
  root="$(cd "$(dirname "$0")/.." && pwd)"
  bin="$root/bazel-bin"
fi
kernel_diff="${KERNEL_DIFF:-$bin/e2e/kernel_diff}"
for tool in ip ipset conntrack iptables-nft-restore iptables-legacy-restore; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (tools/setup)"; exit 1; }
done
[ -x "$kernel_diff" ] || { echo "FAIL: $kernel_diff is missing (bazel build //e2e:kernel_diff)"; exit 1; }

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/fkd.XXXXXX")"
prefix="fkd$$-"
started=$SECONDS
cleanup() {
  local ns
  for ns in $(ip netns list | awk -v p="$prefix" 'index($1, p) == 1 { print $1 }'); do
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The runs: name, model, flows file (or -), random flows, seed.
runs=()
for dir in "$root"/testdata/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  [ -f "$dir/flows.txt" ] || continue
  if [ -n "$cases" ] && [[ " $cases " != *" $name "* ]]; then continue; fi
  runs+=("$name|$dir/model.json|$dir/flows.txt|$golden_random|$seed")
done
for ((i = 0; i < random_models; i++)); do
  s=$((seed * 100003 + i))
  mkdir -p "$work/random-$i"
  "$kernel_diff" model --seed "$s" >"$work/random-$i/model.json"
  runs+=("random-$i (seed $s)|$work/random-$i/model.json|-|$random_flows|$s")
done

# One run in namespaces of its own; its summary lines go to $work/<n>.out.
run_one() {
  local n="$1" spec="$2" name model flows count s dir rc
  IFS='|' read -r name model flows count s <<<"$spec"
  dir="$work/run-$n"
  mkdir -p "$dir"
  ip netns add "${prefix}${n}h" && ip netns add "${prefix}${n}p" || return 1
  local args=(run --model "$model" --random-flows "$count" --seed "$s"
              --netns-prefix "${prefix}${n}" --work "$dir" --backends "none,$backends")
  [ "$flows" = - ] || args+=(--flows "$flows")
  "$kernel_diff" "${args[@]}" >"$dir/out" 2>&1
  rc=$?
  ip netns del "${prefix}${n}h" 2>/dev/null || true
  ip netns del "${prefix}${n}p" 2>/dev/null || true
  {
    echo "== $name"
    cat "$dir/out"
    [ $rc -eq 0 ] || echo "exit $rc"
  } >"$work/$n.out"
  return $rc
}

failed=0
pids=()
for n in "${!runs[@]}"; do
  run_one "$n" "${runs[$n]}" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

for n in "${!runs[@]}"; do
  if grep -q -E '^(DISAGREE|kernel_diff:|exit )' "$work/$n.out"; then
    cat "$work/$n.out"
  fi
done

# Totals per backend, from each run's summary lines:
# "nft: 325 flows, 325 agree, 0 disagree; conntrack checked 207; ... [accepted=184 ...]"
for backend in none ${backends//,/ }; do
  cat "$work"/*.out | awk -v b="$backend" '
    $1 == b ":" {
      flows += $2; agree += $4; disagree += $6; ct += $10; runs++
      line = $0; sub(/.*\[/, "", line); sub(/\].*/, "", line)
      n = split(line, kv, " ")
      for (i = 1; i <= n; i++) { split(kv[i], p, "="); c[p[1]] += p[2] }
    }
    END {
      printf "%-7s %d runs: %d flows, %d agree, %d disagree; conntrack checked %d;", b, runs, flows, agree, disagree, ct
      split("v4 v6 tcp udp icmp sctp udplite gre input forward output new established related invalid untracked accepted dropped untracked-accepted", keys, " ")
      for (i = 1; i in keys; i++) printf " %s=%d", keys[i], c[keys[i]]
      printf "\n"
    }' >"$work/total-$backend"
  cat "$work/total-$backend"
done

check_total() {  # backend key minimum
  local v
  v=$(grep -o " $2=[0-9]*" "$work/total-$1" | cut -d= -f2)
  if [ "${v:-0}" -lt "$3" ]; then
    echo "FAIL: $1: only ${v:-0} flows of $2 (want at least $3)"
    failed=1
  fi
}
for backend in ${backends//,/ }; do
  flows=$(awk '{ print $4 }' "$work/total-$backend")
  if [ "${flows:-0}" -lt "$min_flows" ]; then
    echo "FAIL: $backend: $flows flows (want at least $min_flows)"
    failed=1
  fi
  if [ "$min_flows" -gt 0 ]; then
    for key in v4 v6 tcp udp icmp input forward output new established invalid untracked-accepted dropped accepted; do
      check_total "$backend" "$key" 1
    done
  fi
done

if [ $failed -ne 0 ]; then
  echo "FAIL after $((SECONDS - started))s (kept with --keep DIR: models, flows with the simulator's verdicts)"
  exit 1
fi
echo "PASS: ${#runs[@]} models, backends ${backends}, $((SECONDS - started))s"
