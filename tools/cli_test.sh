#!/usr/bin/env bash
# The CLI's contract (README.md, The CLI): exit codes, stdout/stderr, --out files, bundled example.
set -u
fiptgen="$1"
testdata="$(dirname "$(dirname "$2")")"  # $2 is testdata/example/model.json in runfiles
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
pass=0 fail=0
check() {  # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}

# No MODEL: the bundled example, family 4, exit 0.
"$fiptgen" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "bundled example exits 0" test $rc -eq 0
check "bundled example prints the v4 script" cmp -s "$tmp/out" "$testdata/example/iptables.restore"

# --family 6, --ipsets, --out DIR all match the goldens.
"$fiptgen" --family 6 "$testdata/example/model.json" >"$tmp/out6"
check "--family 6" cmp -s "$tmp/out6" "$testdata/example/ip6tables.restore"
"$fiptgen" --ipsets "$testdata/example/model.json" >"$tmp/sets"
check "--ipsets" cmp -s "$tmp/sets" "$testdata/example/ipsets.restore"
mkdir -p "$tmp/dir"
"$fiptgen" --out "$tmp/dir" "$testdata/tags/model.json" >"$tmp/out" 2>&1; rc=$?
check "--out exits 0 and prints nothing" test $rc -eq 0 -a ! -s "$tmp/out"
for f in ipsets.restore iptables.restore ip6tables.restore; do
  check "--out writes $f" cmp -s "$tmp/dir/$f" "$testdata/tags/$f"
done

# Bad input: exit 2, every error on stderr (golden), nothing on stdout, for every case.
for json in "$testdata"/errors/*.json; do
  name=$(basename "$json" .json)
  "$fiptgen" "$json" >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "$name exits 2" test $rc -eq 2
  check "$name prints nothing on stdout" test ! -s "$tmp/out"
  check "$name stderr is golden" cmp -s "$tmp/err" "$testdata/errors/$name.stderr"
done

# A family that is not enabled, a bad flag value, a missing file.
"$fiptgen" "$testdata/v6_only/model.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "disabled family exits 2 with nothing on stdout" test $rc -eq 2 -a ! -s "$tmp/out"
"$fiptgen" --family 5 "$testdata/example/model.json" >"$tmp/out" 2>&1; rc=$?
check "--family 5 exits 2" test $rc -eq 2
"$fiptgen" /nonexistent/model.json >"$tmp/out" 2>"$tmp/err"; rc=$?
check "missing file exits 1 naming the file" test $rc -eq 1
check "missing file message" grep -q '^/nonexistent/model.json: cannot read' "$tmp/err"

echo "$pass passed, $fail failed"
test $fail -eq 0
