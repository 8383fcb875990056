#!/usr/bin/env bash
# Kernel tests of fiptgen-apply (README "The applier"), each in its own throwaway network namespace
# (apply_test_lib.sh makes them and always deletes them), on both backends:
#   - every plan case under testdata/plans: apply before.json (plus Docker/kube-proxy-like
#     foreign rules for foreign_* cases); the dry-run plan of after.json must be plan.txt
#     (so planning from memory and from the kernel agree); apply after.json; the next plan
#     must be empty;
#   - drift: a rule or a hook of ours deleted by hand comes back, and only that is replanned;
#   - foreign rules added by hand between applies are untouched;
#   - a plan the kernel rejects leaves the previous rules and sets in force.
# Needs root; says SKIPPED otherwise. Never touches the machine's own namespace.
#
#   apply_kernel_test.sh FIPTGEN_APPLY PLANS_DIR
#   apply_kernel_test.sh --capture-foreign FIPTGEN_APPLY PLANS_DIR
# The second form rewrites PLANS_DIR/foreign_*/observed.txt from the nft backend, e.g.
#   bazel build //tools:fiptgen-apply &&
#   tools/apply_kernel_test.sh --capture-foreign bazel-bin/tools/fiptgen-apply testdata/plans
set -u

capture=0
if [ "${1:-}" = "--capture-foreign" ]; then
  capture=1
  shift
fi
apply=$(realpath "$1")
plans=$(realpath "$2")
. "$(dirname "$0")/apply_test_lib.sh"

# Foreign state like Docker's and kube-proxy's, added with the ordinary tools.
add_docker_and_kube() {
  local ipt="iptables-$backend" ip6t="ip6tables-$backend" t
  in_ns ipset create KUBE-CLUSTER-IP hash:ip,port family inet
  in_ns ipset add KUBE-CLUSTER-IP 10.96.0.10,udp:53
  for t in "$ipt" "$ip6t"; do
    in_ns "$t" -N DOCKER
    in_ns "$t" -N DOCKER-USER
    in_ns "$t" -A DOCKER-USER -j RETURN
    in_ns "$t" -I FORWARD -j DOCKER-USER
    in_ns "$t" -A FORWARD -o docker0 -j DOCKER
    in_ns "$t" -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
    in_ns "$t" -t nat -N DOCKER
    in_ns "$t" -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    in_ns "$t" -t nat -A DOCKER -i docker0 -j RETURN
    in_ns "$t" -N KUBE-SERVICES
    in_ns "$t" -N KUBE-FIREWALL
    in_ns "$t" -I INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
    in_ns "$t" -I OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
    in_ns "$t" -A INPUT -j KUBE-FIREWALL
    in_ns "$t" -A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -m comment --comment "kubernetes firewall for dropping marked packets" -j DROP
  done
  in_ns "$ipt" -A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
  in_ns "$ipt" -A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
  in_ns "$ipt" -t raw -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
}

# The library's run_apply, always with --backend.
run_apply() {
  in_ns "$apply" --backend "$backend" "$@" >"$tmp/out" 2>"$tmp/err"
}

# Applies a model that must apply cleanly and converge.
must_apply() {
  if ! run_apply "$1"; then
    fail "$what: applying $1 failed: $(cat "$tmp/err")"
    return 1
  fi
  if grep -q 'prints this back differently' "$tmp/err"; then fail "$what: $(grep differently "$tmp/err")"; fi
  return 0
}

# The plan for a model must be empty.
expect_empty_plan() {
  run_apply --dry-run "$1"
  if [ -s "$tmp/out" ]; then fail "$what: plan not empty after applying:"; cat "$tmp/out"; fi
}

if [ "$capture" = 1 ]; then
  backend=nft
  for dir in "$plans"/foreign_*/; do
    new_ns
    in_ns "$apply" --backend nft "$dir/before.json" 2>/dev/null || { echo "cannot apply $dir"; exit 1; }
    add_docker_and_kube
    {
      echo "== iptables-save =="
      in_ns iptables-nft-save | grep -v '^#'
      echo "== ip6tables-save =="
      in_ns ip6tables-nft-save | grep -v '^#'
      echo "== ipset save =="
      in_ns ipset save
    } >"$dir/observed.txt"
    echo "wrote $dir/observed.txt"
  done
  exit 0
fi

for backend in nft legacy; do
  # Every plan case, from the kernel's state instead of from memory.
  for dir in "$plans"/*/; do
    name=$(basename "$dir")
    what="$backend $name"
    new_ns
    if [ -f "$dir/before.json" ]; then must_apply "$dir/before.json" || continue; fi
    case "$name" in foreign_*) add_docker_and_kube ;; esac
    foreign_before=$(foreign_rules)
    run_apply --dry-run "$dir/after.json"
    sed '/^== changes ==$/,$d' "$dir/plan.txt" >"$tmp/want"
    if ! diff -u "$tmp/want" "$tmp/out" >"$tmp/diff"; then
      fail "$what: the plan from the kernel differs from plan.txt:"
      cat "$tmp/diff"
    fi
    must_apply "$dir/after.json" || continue
    expect_empty_plan "$dir/after.json"
    [ "$(foreign_rules)" = "$foreign_before" ] || fail "$what: foreign rules changed"
    run_apply "$dir/after.json"
    grep -q 'fiptgen-apply: no changes$' "$tmp/err" || fail "$what: second apply changed: $(cat "$tmp/err")"
  done

  model="$plans/from_empty/after.json"

  what="$backend drift"
  new_ns
  must_apply "$model"
  saved=$(rules)
  in_ns "iptables-$backend" -D felix-from-w1 2
  in_ns "ip6tables-$backend" -D INPUT -j felix-INPUT
  run_apply --dry-run "$model"
  # The v4 rule deleted (the ip6tables part of $saved has its own) goes back in its place.
  deleted=$(awk '/^## ip6tables/{exit} /^-A felix-from-w1 /' <<<"$saved" | sed -n 2p)
  {
    echo "== iptables-restore --noflush =="
    echo "*filter"
    echo "-I felix-from-w1 2 ${deleted#-A felix-from-w1 }"
    echo "COMMIT"
    echo "== ip6tables-restore --noflush =="
    echo "*filter"
    echo "-I INPUT 1 -j felix-INPUT"
    echo "COMMIT"
  } >"$tmp/want"
  diff -u "$tmp/want" "$tmp/out" || fail "$what: the plan is not exactly the damaged chain and hook"
  must_apply "$model"
  [ "$(rules)" = "$saved" ] || fail "$what: the rules did not come back as they were"
  in_ns "iptables-$backend" -A felix-p-web-o -j ACCEPT
  added=$(in_ns "iptables-$backend" -S felix-p-web-o | grep -c '^-A ')
  run_apply --dry-run "$model"
  grep -qx -- "-D felix-p-web-o $added" "$tmp/out" && [ "$(grep -c '^[-:]' "$tmp/out")" = 1 ] ||
    fail "$what: a rule added to our chain is not deleted alone: $(cat "$tmp/out")"
  must_apply "$model"
  expect_empty_plan "$model"

  what="$backend foreign rules added between applies"
  new_ns
  must_apply "$model"
  add_docker_and_kube
  foreign_before=$(foreign_rules)
  sets_before=$(sets | grep -v ' felix-')
  must_apply "$plans/foreign_rules_changed/after.json"
  must_apply "$model"
  [ "$(foreign_rules)" = "$foreign_before" ] || fail "$what: foreign rules changed"
  [ "$(sets | grep -v ' felix-')" = "$sets_before" ] || fail "$what: foreign sets changed"
  expect_empty_plan "$model"

  what="$backend rejected plan"
  new_ns
  must_apply "$model"
  add_docker_and_kube
  rules_before=$(rules)
  sets_before=$(sets)
  # A change in raw (fastpath's port) and in filter (host-base's port, a new tag member); the
  # wrapper breaks one filter rule so that the kernel refuses it. nft checks jumps only at
  # COMMIT, after raw has been committed: the applier must put raw back.
  sed -e 's/4789/4790/' -e 's/^\( *\)179$/\1180/' \
    -e 's|"198.18.1.1/32"|"198.18.1.1/32", "198.18.1.7/32"|' "$model" >"$tmp/changed.json"
  grep -q 4790 "$tmp/changed.json" && grep -q 180 "$tmp/changed.json" || fail "$what: bad sed"
  mkdir -p "$tmp/wrap"
  for t in iptables ip6tables; do
    real=$(command -v "$t-$backend-restore")
    printf '#!/bin/sh\nsed "s/^\\(-[AIR] felix-p-host-base-i .*\\)-j MARK .*/\\1-j felix-NOPE/" | %s "$@"\n' \
      "$real" >"$tmp/wrap/$t-$backend-restore"
    chmod +x "$tmp/wrap/$t-$backend-restore"
  done
  if in_ns env PATH="$tmp/wrap:$PATH" "$apply" --backend "$backend" "$tmp/changed.json" \
    >"$tmp/out" 2>"$tmp/err"; then
    fail "$what: the applier succeeded"
  fi
  grep -q 'failed at plan line [0-9]* (table filter' "$tmp/err" ||
    fail "$what: the error does not name the plan line: $(cat "$tmp/err")"
  grep -q 'the previous rules are in force' "$tmp/err" || fail "$what: no word on the rollback"
  [ "$(rules)" = "$rules_before" ] || { fail "$what: rules changed"; diff <(echo "$rules_before") <(rules); }
  [ "$(sets)" = "$sets_before" ] || { fail "$what: sets changed"; diff <(echo "$sets_before") <(sets); }
  # Without the wrapper the same model applies.
  must_apply "$tmp/changed.json"
  expect_empty_plan "$tmp/changed.json"
  rm -rf "$tmp/wrap"
done

echo "$ns_count namespaces used; $failures failures"
[ "$failures" = 0 ]
