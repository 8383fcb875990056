#!/usr/bin/env bash
# The command-line contract of both tools (README "The CLI", "The applier"): flags, --help,
# --version, exit codes (0 ok, 1 a file cannot be read or written, 2 a bad command line or a
# bad model), stdout/stderr, --out files, stdin, relative paths under `bazel run`, and the
# README synopsis naming every flag. fiptgen-apply is run only on paths that exit before it
# reads or changes the kernel.
#
# Usage: cli_test.sh FIPTGEN FIPTGEN_APPLY testdata/example/model.json fiptgen/version.h README.md
set -u
fiptgen="$(realpath "$1")"
apply="$(realpath "$2")"
testdata="$(realpath "$(dirname "$(dirname "$3")")")"  # $3 is testdata/example/model.json
version_h="$4"
readme="$5"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/cli_test.XXXXXX")"
unset BUILD_WORKING_DIRECTORY
pass=0 fail=0
check() {  # check NAME COMMAND...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
# run TOOL ARGS...: runs with stdin from /dev/null; sets rc, stdout in $tmp/out, stderr in $tmp/err.
run() { "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?; }
# usage_error NAME TOOL ARGS...: exit 2, nothing on stdout, the message and the --help hint.
usage_error() {
  local name="$1"; shift
  run "$@"
  check "$name exits 2" test $rc -eq 2
  check "$name prints nothing on stdout" test ! -s "$tmp/out"
  check "$name points to --help" grep -q -- "--help' for the flags" "$tmp/err"
}

# ---- fiptgen: output ---------------------------------------------------------------------
# No MODEL: the bundled example, family 4, exit 0.
run "$fiptgen"
check "bundled example exits 0" test $rc -eq 0
check "bundled example prints the v4 script" cmp -s "$tmp/out" "$testdata/example/iptables.restore"

# --family 6, --ipsets, --out DIR all match the goldens.
"$fiptgen" --family 6 "$testdata/example/model.json" >"$tmp/out6"
check "--family 6" cmp -s "$tmp/out6" "$testdata/example/ip6tables.restore"
"$fiptgen" --family=6 "$testdata/example/model.json" >"$tmp/out6"
check "--family=6" cmp -s "$tmp/out6" "$testdata/example/ip6tables.restore"
"$fiptgen" --ipsets "$testdata/example/model.json" >"$tmp/sets"
check "--ipsets" cmp -s "$tmp/sets" "$testdata/example/ipsets.restore"
"$fiptgen" --graph "$testdata/example/model.json" >"$tmp/dot"
check "--graph prints DOT" grep -q '^digraph' "$tmp/dot"
mkdir -p "$tmp/dir"
"$fiptgen" --out "$tmp/dir" "$testdata/tags/model.json" >"$tmp/out" 2>&1; rc=$?
check "--out exits 0 and prints nothing" test $rc -eq 0 -a ! -s "$tmp/out"
for f in ipsets.restore iptables.restore ip6tables.restore; do
  check "--out writes $f" cmp -s "$tmp/dir/$f" "$testdata/tags/$f"
done
check "scripts start with the load note" grep -q '^# fiptgen: .*full IPv4 state' "$tmp/dir/iptables.restore"
# Files that exist are written over and cut to their new length (not truncated first).
mkdir -p "$tmp/over"
for f in ipsets.restore iptables.restore ip6tables.restore; do
  head -c 100000 /dev/zero | tr '\0' x >"$tmp/over/$f"
done
"$fiptgen" --out "$tmp/over" "$testdata/tags/model.json"
for f in ipsets.restore iptables.restore ip6tables.restore; do
  check "--out over a longer $f" cmp -s "$tmp/over/$f" "$testdata/tags/$f"
done
# A write that fails part way (here at an 8 KiB file size limit, which ip6tables.restore
# exceeds) exits 1, says so, and leaves a file whose first line every restore tool rejects.
mkdir -p "$tmp/cut"
(ulimit -f 8; trap '' XFSZ; exec "$fiptgen" --out "$tmp/cut" "$testdata/tags/model.json") \
  </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a failed write exits 1" test $rc -eq 1
check "a failed write names the file" grep -q "ip6tables.restore: cannot write: File too large" "$tmp/err"
check "a half-written file starts with the incomplete line" \
  grep -q '^fiptgen: incomplete' <(head -1 "$tmp/cut/ip6tables.restore")

# "-" reads the model from stdin; "--" ends the flags.
"$fiptgen" - <"$testdata/tags/model.json" >"$tmp/out"; rc=$?
check "- reads stdin" test $rc -eq 0
check "- prints the golden" cmp -s "$tmp/out" "$testdata/tags/iptables.restore"
mkdir -p "$tmp/stdin_out"
"$fiptgen" --out "$tmp/stdin_out" -- - <"$testdata/tags/model.json"
check "--out with stdin" cmp -s "$tmp/stdin_out/ipsets.restore" "$testdata/tags/ipsets.restore"
"$fiptgen" - </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
check "empty stdin is a bad model: exit 2" test $rc -eq 2 -a ! -s "$tmp/out" -a -s "$tmp/err"

# Relative paths: from the cwd, or from BUILD_WORKING_DIRECTORY when set (bazel run), which
# here is another directory than the cwd.
mkdir -p "$tmp/wd/m" "$tmp/wd/out" "$tmp/elsewhere"
cp "$testdata/tags/model.json" "$tmp/wd/m/model.json"
(cd "$tmp/wd" && "$fiptgen" m/model.json) >"$tmp/out"
check "relative MODEL from the cwd" cmp -s "$tmp/out" "$testdata/tags/iptables.restore"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/wd" "$fiptgen" m/model.json) >"$tmp/out"
check "relative MODEL from BUILD_WORKING_DIRECTORY" \
  cmp -s "$tmp/out" "$testdata/tags/iptables.restore"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/wd" "$fiptgen" --out out m/model.json)
check "relative --out DIR from BUILD_WORKING_DIRECTORY" \
  cmp -s "$tmp/wd/out/iptables.restore" "$testdata/tags/iptables.restore"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/wd" "$fiptgen" "$tmp/wd/m/model.json") \
  >"$tmp/out"
check "absolute MODEL ignores BUILD_WORKING_DIRECTORY" \
  cmp -s "$tmp/out" "$testdata/tags/iptables.restore"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/wd" "$fiptgen" - <"$tmp/wd/m/model.json") \
  >"$tmp/out"
check "- under BUILD_WORKING_DIRECTORY is stdin" cmp -s "$tmp/out" "$testdata/tags/iptables.restore"

# ---- fiptgen: bad input ------------------------------------------------------------------
# Bad models: exit 2, every error on stderr (golden), nothing on stdout, for every case.
for json in "$testdata"/errors/*.json; do
  name=$(basename "$json" .json)
  run "$fiptgen" "$json"
  check "$name exits 2" test $rc -eq 2
  check "$name prints nothing on stdout" test ! -s "$tmp/out"
  check "$name stderr is golden" cmp -s "$tmp/err" "$testdata/errors/$name.stderr"
done

# A family that is not enabled.
run "$fiptgen" "$testdata/v6_only/model.json"
check "disabled family exits 2 with nothing on stdout" test $rc -eq 2 -a ! -s "$tmp/out"

# Files that cannot be read: exit 1, the path and why, nothing on stdout.
run "$fiptgen" /nonexistent/model.json
check "missing file exits 1" test $rc -eq 1 -a ! -s "$tmp/out"
check "missing file message" grep -q '^/nonexistent/model.json: cannot read: No such file' "$tmp/err"
run "$fiptgen" "$testdata"
check "a directory exits 1" test $rc -eq 1 -a ! -s "$tmp/out"
check "a directory says so" grep -q "^$testdata: is a directory, not a model file$" "$tmp/err"
echo '{}' >"$tmp/file"
run "$fiptgen" "$tmp/file/model.json"
check "a path through a file exits 1" test $rc -eq 1
check "a path through a file says why" grep -q 'cannot read: Not a directory' "$tmp/err"
if [ "$(id -u)" -ne 0 ]; then  # root reads a file of mode 000
  chmod 000 "$tmp/file"
  run "$fiptgen" "$tmp/file"
  check "an unreadable file exits 1" test $rc -eq 1
  check "an unreadable file says why" grep -q 'cannot read: Permission denied' "$tmp/err"
fi
run "$fiptgen" --out "$tmp/nonexistent_dir" "$testdata/tags/model.json"
check "an --out DIR that does not exist exits 1" test $rc -eq 1
check "the unwritable file is named" grep -q "^$tmp/nonexistent_dir/ipsets.restore: cannot write" "$tmp/err"

# Bad command lines: exit 2.
usage_error "an unknown flag" "$fiptgen" --bogus "$testdata/example/model.json"
check "an unknown flag is named" grep -q 'unknown flag --bogus' "$tmp/err"
usage_error "absl's --helpfull is not ours" "$fiptgen" --helpfull
usage_error "-x" "$fiptgen" -x
usage_error "--family 5" "$fiptgen" --family 5 "$testdata/example/model.json"
usage_error "--family with no value" "$fiptgen" --family
usage_error "a switch with a value" "$fiptgen" --ipsets=true "$testdata/example/model.json"
usage_error "a flag given twice" "$fiptgen" --family 4 --family 6 "$testdata/example/model.json"
usage_error "--ipsets with --graph" "$fiptgen" --ipsets --graph "$testdata/example/model.json"
usage_error "--out with --family" "$fiptgen" --out "$tmp/dir" --family 6 "$testdata/example/model.json"
usage_error "--out with --ipsets" "$fiptgen" --out "$tmp/dir" --ipsets "$testdata/example/model.json"
usage_error "two MODELs" "$fiptgen" "$testdata/example/model.json" "$testdata/tags/model.json"

# ---- fiptgen trace, fiptgen check-flows ---------------------------------------------------
example="$testdata/example/model.json"
spoof="in=tapw1 out=eth0 tcp src=198.18.1.99 dst=198.18.9.2 dport=80"
run "$fiptgen" trace "$example" $spoof
check "trace exits 0" test $rc -eq 0 -a ! -s "$tmp/err"
check "trace prints the verdict" grep -q '^verdict  DROP$' "$tmp/out"
check "trace says why" grep -qF 'filter   FORWARD → felix-FORWARD → felix-FROM-ENDPOINT → felix-from-w1 #3 "Drop if wrong source IP" → DROP' "$tmp/out"
check "trace fills in the workload's MAC" grep -q '^packet   .* mac=02:00:00:00:00:01 ' "$tmp/out"
check "trace lists every rule met" grep -q '^  - felix-from-w1 #2  -m mac ! --mac-source' "$tmp/out"
run "$fiptgen" trace --json "$example" $spoof
check "trace --json exits 0" test $rc -eq 0
check "trace --json is one line of JSON" test "$(wc -l <"$tmp/out")" -eq 1
check "trace --json has the verdict" grep -q '"verdict":"DROP","untracked":false' "$tmp/out"
"$fiptgen" trace - in=eth0 udp src=198.18.9.2 dst=198.18.9.254 dport=4789 <"$example" >"$tmp/out"
check "trace reads the model from stdin" grep -q '^verdict  ACCEPT (untracked)$' "$tmp/out"

# A host's saved state: the example's scripts as iptables-save and ipset save print them.
to_save() {  # restore-file: built-in chains declared, hooks as -A, no comments
  awk '/^#/ { next }
       $0 == "*raw" { print; print ":PREROUTING ACCEPT [0:0]"; print ":OUTPUT ACCEPT [0:0]"; next }
       $0 == "*filter" { print; print ":INPUT ACCEPT [0:0]"; print ":FORWARD ACCEPT [0:0]"; print ":OUTPUT ACCEPT [0:0]"; next }
       $1 == "-I" { print "-A " $2 " -j " $5; next }
       { print }' "$1"
}
to_save "$testdata/example/iptables.restore" >"$tmp/example.save4"
to_save "$testdata/example/ip6tables.restore" >"$tmp/example.save6"
run "$fiptgen" trace --iptables-save "$tmp/example.save4" --ipset-save "$testdata/example/ipsets.restore" \
  $spoof mac=02:00:00:00:00:01
check "trace of a saved state exits 0" test $rc -eq 0
check "trace of a saved state says why" grep -qF 'felix-from-w1 #3 "Drop if wrong source IP" → DROP' "$tmp/out"
run "$fiptgen" trace --iptables-save "$tmp/example.save4" $spoof
check "trace of a saved state without MAC is unresolved" grep -q '^verdict  UNRESOLVED$' "$tmp/out"
check "...and says why" grep -qF 'felix-from-w1 #2 "Drop if wrong source MAC" → UNRESOLVED: -m mac needs the packet' "$tmp/out"
run "$fiptgen" trace --iptables-save - in=tapw1 tcp src=fd5a:f1e1::1:1 dst=fd5a:f1e1::2 dport=1 \
  <"$tmp/example.save4"
check "a v6 packet with only --iptables-save exits 2" test $rc -eq 2 -a ! -s "$tmp/out"
check "...and names the flag" grep -q 'an IPv6 packet: give --ip6tables-save FILE' "$tmp/err"
echo '*filter' >"$tmp/bad.save"
run "$fiptgen" trace --iptables-save "$tmp/bad.save" $spoof
check "a bad save exits 2" test $rc -eq 2 -a ! -s "$tmp/out"
check "a bad save names file and line" grep -q "^$tmp/bad.save: iptables-save:1: table filter has no COMMIT$" "$tmp/err"
usage_error "trace: no MODEL" "$fiptgen" trace
usage_error "trace: no PACKET" "$fiptgen" trace "$example"
usage_error "trace: a bad PACKET" "$fiptgen" trace "$example" in=eth0 tcp src=198.18.9.2 dst=198.18.9.254
check "trace: a bad PACKET is named" grep -q 'PACKET: dport: required for tcp' "$tmp/err"
usage_error "trace: two stdins" "$fiptgen" trace --iptables-save - --ipset-save - $spoof
usage_error "trace: --ipset-save alone" "$fiptgen" trace --ipset-save "$tmp/x" $spoof
usage_error "trace: an unknown flag" "$fiptgen" trace --family 4 "$example" $spoof
run "$fiptgen" trace /nonexistent/model.json $spoof
check "trace: a missing model exits 1" test $rc -eq 1 -a ! -s "$tmp/out"

cat >"$tmp/flows.txt" <<'FLOWS'
# the example's workload w1 and host endpoint eth0
in=tapw1 out=eth0 tcp src=198.18.1.1 dst=198.18.9.2 dport=80 => accept
in=tapw1 out=eth0 tcp src=198.18.1.99 dst=198.18.9.2 dport=80 => drop
in=eth0 udp src=198.18.9.2 dst=198.18.9.254 dport=4789 => accept untracked
in=tapw1 out=eth0 icmpv6 src=fd5a:f1e1::1:1 dst=fd5a:f1e1::9:2 => accept
FLOWS
run "$fiptgen" check-flows "$example" "$tmp/flows.txt"
check "check-flows exits 0 when every flow holds" test $rc -eq 0 -a ! -s "$tmp/err"
check "check-flows counts" grep -q '^4 flows: 4 hold, 0 do not$' "$tmp/out"
run "$fiptgen" check-flows --iptables-save "$tmp/example.save4" --ip6tables-save "$tmp/example.save6" \
  --ipset-save "$testdata/example/ipsets.restore" "$tmp/flows.txt"
check "check-flows of a saved state without MACs: unresolved flows" test $rc -eq 3
check "...counted" grep -q '^4 flows: 1 hold, 3 do not$' "$tmp/out"
sed -i 's/=> drop$/=> accept/; s/4789 => accept untracked/4789 => accept tracked/' "$tmp/flows.txt"
run "$fiptgen" check-flows "$example" "$tmp/flows.txt"
check "check-flows exits 3 when a flow does not hold" test $rc -eq 3
check "check-flows names the flow by file and line" grep -q "^$tmp/flows.txt:3: in=tapw1 out=eth0 tcp src=198.18.1.99 .* => accept$" "$tmp/out"
check "check-flows says what it got" grep -q '^  got drop$' "$tmp/out"
check "check-flows prints the trace" grep -qF '    filter   FORWARD → felix-FORWARD → felix-FROM-ENDPOINT → felix-from-w1 #3' "$tmp/out"
check "check-flows checks untracked" grep -q '^  got accept untracked$' "$tmp/out"
check "check-flows counts failures" grep -q '^4 flows: 2 hold, 2 do not$' "$tmp/out"
echo 'in=eth0 tcp src=198.18.9.2 dst=198.18.9.254 dport=22 => allow' >"$tmp/bad_flows.txt"
run "$fiptgen" check-flows "$example" "$tmp/bad_flows.txt"
check "check-flows: a bad flow exits 2" test $rc -eq 2 -a ! -s "$tmp/out"
check "check-flows: a bad flow is named by line" grep -q "bad_flows.txt:1: \"allow\" is not a verdict" "$tmp/err"
run "$fiptgen" check-flows "$example" /nonexistent/flows.txt
check "check-flows: a missing flows file exits 1" test $rc -eq 1
run "$fiptgen" check-flows "$example" "$testdata"
check "check-flows: a directory is not a flows file" grep -q 'is a directory, not a flows file' "$tmp/err"
usage_error "check-flows: no FLOWS" "$fiptgen" check-flows "$example"
usage_error "check-flows: two FLOWS" "$fiptgen" check-flows "$example" "$tmp/flows.txt" "$tmp/flows.txt"
usage_error "check-flows: stdin twice" "$fiptgen" check-flows - -

# ---- both tools: --help, -h, --version ---------------------------------------------------
version=$(sed -n 's/^inline constexpr char kVersion\[\] = "\(.*\)";$/\1/p' "$version_h")
check "version.h holds a version" grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' <<<"$version"
for tool in fiptgen "fiptgen trace" "fiptgen check-flows" fiptgen-apply; do
  state_flags="--iptables-save --ip6tables-save --ipset-save"
  case "$tool" in
    fiptgen) bin=("$fiptgen"); flags="--family --ipsets --graph --out" ;;
    "fiptgen trace") bin=("$fiptgen" trace); flags="--json $state_flags" ;;
    "fiptgen check-flows") bin=("$fiptgen" check-flows); flags="$state_flags" ;;
    *) bin=("$apply"); flags="--dry-run --check --remove --backend --hooks --timeout --quiet --verbose" ;;
  esac
  for help in --help -h; do
    run "${bin[@]}" "$help"
    check "$tool $help exits 0" test $rc -eq 0
    check "$tool $help prints nothing on stderr" test ! -s "$tmp/err"
    check "$tool $help starts with the usage line" grep -q "^Usage: $tool " "$tmp/out"
    check "$tool $help documents the exit codes" grep -q '^Exit status:' "$tmp/out"
    codes="0 1 2"; [ "$tool" = fiptgen-apply ] && codes="0 1 2 3 4"
    for code in $codes; do
      check "$tool $help documents exit code $code" grep -q "^  $code  " "$tmp/out"
    done
    for flag in $flags --help --version; do
      check "$tool $help lists $flag" grep -qE -- "^  (-h, )?$flag( |$)" "$tmp/out"
    done
  done
  # Every flag --help lists is in the README's synopsis of the tool.
  synopsis=$(grep -E "^    $tool \[" "$readme")
  check "README has a synopsis of $tool" test -n "$synopsis"
  for flag in $(sed -n 's/^  \(-h, \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' "$tmp/out"); do
    case "$flag" in --help | --version) continue ;; esac
    check "README synopsis of $tool names $flag" grep -qE -- "(\[| )$flag( |\])" <<<"$synopsis"
  done
  if [ "$tool" = fiptgen ]; then
    check "fiptgen --help lists the commands" grep -q '^  check-flows  ' "$tmp/out"
  fi
  run "${bin[@]}" --version
  check "$tool --version exits 0" test $rc -eq 0
  check "$tool --version prints the version of version.h" \
    test "$(cat "$tmp/out")" = "${tool%% *} $version"
done

# ---- fiptgen-apply: everything that exits before it touches the kernel -------------------
usage_error "apply: an unknown flag" "$apply" --bogus "$testdata/example/model.json"
usage_error "apply: absl's --dry_run spelling" "$apply" --dry_run "$testdata/example/model.json"
usage_error "apply: --dry-run with a value" "$apply" --dry-run=yes "$testdata/example/model.json"
usage_error "apply: a bad --backend" "$apply" --backend iptables "$testdata/example/model.json"
check "apply: a bad --backend is named" grep -q -- '--backend: must be auto, nft or legacy' "$tmp/err"
usage_error "apply: --backend with no value" "$apply" --backend
usage_error "apply: a bad --hooks" "$apply" --hooks top "$testdata/example/model.json"
check "apply: a bad --hooks is named" grep -q -- '--hooks: must be first or append' "$tmp/err"
usage_error "apply: a bad --timeout" "$apply" --timeout 0 "$testdata/example/model.json"
check "apply: a bad --timeout is named" grep -q -- '--timeout: must be a number of seconds' "$tmp/err"
usage_error "apply: --quiet with --verbose" "$apply" --quiet --verbose "$testdata/example/model.json"
usage_error "apply: --dry-run with --check" "$apply" --dry-run --check "$testdata/example/model.json"
usage_error "apply: --remove with two MODELs" "$apply" --remove "$testdata/example/model.json" "$testdata/tags/model.json"
run "$apply" --remove --dry-run "$testdata"
check "apply: --remove reads its MODEL too" grep -q 'is a directory, not a model file' "$tmp/err"
usage_error "apply: no MODEL" "$apply"
usage_error "apply: two MODELs" "$apply" "$testdata/example/model.json" "$testdata/tags/model.json"
run "$apply" /nonexistent/model.json
check "apply: missing file exits 1" test $rc -eq 1
check "apply: missing file message" grep -q '^/nonexistent/model.json: cannot read' "$tmp/err"
run "$apply" --dry-run "$testdata"
check "apply: a directory exits 1" test $rc -eq 1
check "apply: a directory says so" grep -q 'is a directory, not a model file' "$tmp/err"
for json in "$testdata"/errors/*.json; do
  name=$(basename "$json" .json)
  run "$apply" --dry-run "$json"
  check "apply: $name exits 2" test $rc -eq 2 -a ! -s "$tmp/out"
  check "apply: $name stderr is golden" cmp -s "$tmp/err" "$testdata/errors/$name.stderr"
done
json=$(ls "$testdata"/errors/*.json | head -1)
"$apply" - <"$json" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "apply: a bad model on stdin exits 2" test $rc -eq 2
check "apply: a bad model on stdin: golden stderr" \
  cmp -s "$tmp/err" "$testdata/errors/$(basename "$json" .json).stderr"
cp "$json" "$tmp/wd/bad.json"
(cd "$tmp/elsewhere" && BUILD_WORKING_DIRECTORY="$tmp/wd" "$apply" bad.json) >"$tmp/out" 2>"$tmp/err"
check "apply: relative MODEL from BUILD_WORKING_DIRECTORY" \
  cmp -s "$tmp/err" "$testdata/errors/$(basename "$json" .json).stderr"

echo "$pass passed, $fail failed"
test $fail -eq 0
