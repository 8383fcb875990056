#!/usr/bin/env bash
# Real-kernel golden check (docs/chains.md, Notation): every golden restore script must load on both iptables
# backends (nft and legacy) and read back, chain by chain, exactly as written.
#
# Usage: kernel_load_test.sh [TESTDATA_DIR]
#   TESTDATA_DIR defaults to the Bazel runfiles testdata dir, else this script's directory.
#   Each case is TESTDATA_DIR/<case>/ holding any of iptables.restore (IPv4),
#   ip6tables.restore (IPv6) and ipsets.restore; a missing file counts as empty.
#
# For each case and backend, in a fresh network namespace of its own (never the machine's):
#   ipset restore < ipsets.restore
#   ip{,6}tables-<backend>-restore --test < script; ... --noflush --wait=N < script
#   ip{,6}tables-<backend>-save, ipset save; compare per table, per chain:
#     - each chain's saved -A lines equal the script's (-I hooks simulated as inserts), in order;
#     - no user chain is saved that the script did not declare, none declared is missing;
#     - built-in chains hold exactly the hooks (and appends) the script put there;
#     - sets match by name, type, family/maxelem (when the script gives them) and sorted members.
# Prints one ok/FAIL line per case+backend, diffs on failure, then "N passed, M failed".
# Needs root; otherwise prints SKIPPED and exits 0. Loads rules only; sends no traffic.

set -u
export LC_ALL=C
export PATH="/usr/sbin:/sbin:/usr/bin:/bin:${PATH:-}"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: kernel_load_test needs root (ip netns, iptables)"
  exit 0
fi

# ---- locate the golden cases ------------------------------------------------------------
if [ $# -ge 1 ]; then
  dir=$1
elif [ -n "${TEST_SRCDIR:-}" ] && [ -d "$TEST_SRCDIR/${TEST_WORKSPACE:-fiptgen}/testdata" ]; then
  dir=$TEST_SRCDIR/${TEST_WORKSPACE:-fiptgen}/testdata
else
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fi
if [ ! -d "$dir" ]; then
  echo "kernel_load_test: no such directory: $dir" >&2
  exit 2
fi

BACKENDS=(nft legacy)
WAIT=10   # seconds to wait for the (root-namespace-shared) legacy xtables lock

work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fgkl.XXXXXX") || exit 2
cur_ns=""
cleanup() {
  if [ -n "$cur_ns" ]; then ip netns del "$cur_ns" 2>/dev/null; cur_ns=""; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- normalizers ------------------------------------------------------------------------
# Canonical form of an iptables-restore script or iptables-save output, one line per item:
#   table <TAB> chain <TAB> seq <TAB> text
# seq 0 is the chain itself ("chain user" / "chain builtin"); seq 1.. are its rules as
# "-A chain ..." in final order (-I is simulated as an insert at its position).
# Built-in chains with no rules are left out, so tables the kernel merely shows do not count.
# Unsupported commands are printed to stderr and make awk exit 3.
canon_iptables() {
  awk -v OFS='\t' '
    function key(t, c) { return t SUBSEP c }
    function touch(t, c, kind) {
      if (!(key(t, c) in seen)) { seen[key(t, c)] = 1; n[key(t, c)] = 0; kinds[key(t, c)] = kind }
      else if (kind == "user") kinds[key(t, c)] = "user"
    }
    /^[ \t]*(#|$)/ { next }
    /^\*/          { table = substr($0, 2); next }
    $0 == "COMMIT" { table = ""; next }
    table == ""    { print "line " NR ": outside a table: " $0 > "/dev/stderr"; bad = 1; next }
    /^:/ {
      c = substr($1, 2)
      touch(table, c, ($2 == "-") ? "user" : "builtin")
      next
    }
    $1 == "-N" && NF == 2 { touch(table, $2, "user"); next }
    $1 == "-A" && NF >= 2 {
      c = $2; touch(table, c, "builtin"); k = key(table, c)
      r[k, ++n[k]] = $0
      next
    }
    $1 == "-I" && NF >= 3 {
      c = $2; touch(table, c, "builtin"); k = key(table, c)
      s = $0; pos = 1
      if ($3 ~ /^[0-9]+$/) { pos = $3 + 0; sub(/^-I +[^ ]+ +[0-9]+ */, "", s) }
      else                 { sub(/^-I +[^ ]+ */, "", s) }
      if (pos < 1 || pos > n[k] + 1) { print "line " NR ": bad -I position: " $0 > "/dev/stderr"; bad = 1; next }
      for (i = n[k]; i >= pos; i--) r[k, i + 1] = r[k, i]
      n[k]++
      r[k, pos] = "-A " c (s == "" ? "" : " " s)
      next
    }
    $1 == "-F" && NF == 2 { k = key(table, $2); if (k in seen) n[k] = 0; next }
    { print "line " NR ": unsupported: " $0 > "/dev/stderr"; bad = 1 }
    END {
      for (k in seen) {
        split(k, tc, SUBSEP)
        if (kinds[k] == "builtin" && n[k] == 0) continue
        print tc[1], tc[2], 0, "chain " kinds[k]
        for (i = 1; i <= n[k]; i++) print tc[1], tc[2], i, r[k, i]
      }
      exit bad ? 3 : 0
    }
  ' "$1" | sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3n
  return "${PIPESTATUS[0]}"
}

# Canonical form of an ipset restore script (file 1) and an `ipset save` (file 2), written to
# $3 and $4: "create NAME TYPE [family F] [maxelem N]" and "add NAME MEMBER..." sorted.
# family/maxelem are compared only when the script gives them (save prints defaults).
canon_ipsets() {
  : > "$3"; : > "$4"
  awk -v out1="$3" -v out2="$4" '
    FNR == 1 { file++ }
    /^[ \t]*(#|$)/ { next }
    $1 == "create" && NF >= 3 {
      name = $2; line = "create " name " " $3; fam = ""; max = ""
      for (i = 4; i < NF; i++) {
        if ($i == "family")  fam = $(i + 1)
        if ($i == "maxelem") max = $(i + 1)
      }
      if (file == 1) { hasfam[name] = (fam != ""); hasmax[name] = (max != "") }
      if (fam != "" && (file == 1 || !(name in hasfam) || hasfam[name])) line = line " family " fam
      if (max != "" && (file == 1 || !(name in hasmax) || hasmax[name])) line = line " maxelem " max
      print line > (file == 1 ? out1 : out2)
      next
    }
    $1 == "add" && NF >= 3 { print > (file == 1 ? out1 : out2); next }
    { print FILENAME ":" FNR ": unsupported: " $0 > "/dev/stderr"; bad = 1 }
    END { exit bad ? 3 : 0 }
  ' "$1" "$2" || return 3
  # group by set (create line first), then members in order
  sort -k2,2 -k1,1r -k3 -o "$3" "$3" && sort -k2,2 -k1,1r -k3 -o "$4" "$4"
}

# Per-chain report of two canonical iptables dumps. $1 expected, $2 saved, $3 label.
report_chains() {
  local exp=$1 got=$2 label=$3 d=$work/split
  rm -rf "$d" && mkdir -p "$d"
  awk -F '\t' -v d="$d" '
    FNR == 1 { side = (side == "" ? "e" : "g") }
    {
      k = $1 "\t" $2
      if (!(k in id)) { id[k] = ++ids; order[ids] = k }
      f = d "/" side "." id[k]
      if ($3 == 0) kind[side, k] = $4; else print $4 > f
      printf "" >> f
    }
    END {
      for (i = 1; i <= ids; i++) {
        k = order[i]
        print i "\t" k "\t" ((("e", k) in kind) ? kind["e", k] : "-") "\t" ((("g", k) in kind) ? kind["g", k] : "-") > (d "/index")
      }
    }
  ' "$exp" "$got"
  local i t c ke kg
  while IFS=$'\t' read -r i t c ke kg; do
    if [ "$ke" = "-" ] && [ "$kg" = "chain user" ]; then
      echo "  $label: table $t: chain $c is in the save output but the script does not declare it"
    elif [ "$ke" = "chain user" ] && [ "$kg" = "-" ]; then
      echo "  $label: table $t: chain $c is declared by the script but missing from the save output"
    elif [ "$ke" != "$kg" ] && [ "$ke" != "-" ] && [ "$kg" != "-" ]; then
      echo "  $label: table $t: chain $c: script has '$ke', save has '$kg'"
    fi
    touch "$d/e.$i" "$d/g.$i"
    if ! cmp -s "$d/e.$i" "$d/g.$i"; then
      echo "  $label: table $t chain $c differs (- expected script, + $label save):"
      diff -u --label "expected $t/$c" --label "saved $t/$c" "$d/e.$i" "$d/g.$i" | sed 's/^/    /'
    fi
  done < "$d/index"
}

# ---- one case on one backend ------------------------------------------------------------
ns_seq=0
run_case() {  # $1 case dir, $2 case name, $3 backend; prints problems, returns 1 on failure
  local cdir=$1 name=$2 be=$3 ok=0 fam file tool lbl out=$work/run
  mkdir -p "$out"
  ns_seq=$((ns_seq + 1))
  cur_ns="fgkl-$$-$ns_seq"
  if ! ip netns add "$cur_ns" 2>"$out/err"; then
    echo "  $name [$be]: cannot create network namespace $cur_ns: $(cat "$out/err")"
    cur_ns=""
    return 1
  fi
  local NS=(ip netns exec "$cur_ns")

  # Sets first: rules matching a set do not load, even under --test, unless it exists.
  : > "$out/ipsets.exp"
  [ -f "$cdir/ipsets.restore" ] && cat "$cdir/ipsets.restore" > "$out/ipsets.exp"
  if [ -s "$out/ipsets.exp" ] && ! "${NS[@]}" ipset restore < "$out/ipsets.exp" > "$out/err" 2>&1; then
    echo "  $name [$be]: ipset restore failed:"; sed 's/^/    /' "$out/err"; ok=1
  fi

  for fam in 4 6; do
    if [ "$fam" = 4 ]; then file=iptables.restore; tool=iptables; else file=ip6tables.restore; tool=ip6tables; fi
    lbl="$name [$be] IPv$fam"
    : > "$out/script"
    [ -f "$cdir/$file" ] && cat "$cdir/$file" > "$out/script"
    if ! canon_iptables "$out/script" > "$out/exp" 2> "$out/err"; then
      echo "  $lbl: cannot interpret $file:"; sed 's/^/    /' "$out/err"; ok=1; continue
    fi
    if [ -s "$out/script" ]; then
      if ! "${NS[@]}" "$tool-$be-restore" --test --wait="$WAIT" < "$out/script" > "$out/err" 2>&1; then
        echo "  $lbl: $tool-$be-restore --test rejected $file:"; sed 's/^/    /' "$out/err"; ok=1; continue
      fi
      if ! "${NS[@]}" "$tool-$be-restore" --noflush --wait="$WAIT" < "$out/script" > "$out/err" 2>&1; then
        echo "  $lbl: $tool-$be-restore --noflush failed on $file:"; sed 's/^/    /' "$out/err"; ok=1; continue
      fi
    fi
    if ! "${NS[@]}" "$tool-$be-save" > "$out/save" 2> "$out/err"; then
      echo "  $lbl: $tool-$be-save failed:"; sed 's/^/    /' "$out/err"; ok=1; continue
    fi
    if ! canon_iptables "$out/save" > "$out/got" 2> "$out/err"; then
      echo "  $lbl: cannot interpret $tool-$be-save output:"; sed 's/^/    /' "$out/err"; ok=1; continue
    fi
    if ! cmp -s "$out/exp" "$out/got"; then
      echo "  $lbl: $file does not read back as written"
      report_chains "$out/exp" "$out/got" "$lbl"
      ok=1
    fi
  done

  if ! "${NS[@]}" ipset save > "$out/ipsets.save" 2> "$out/err"; then
    echo "  $name [$be]: ipset save failed:"; sed 's/^/    /' "$out/err"; ok=1
  elif ! canon_ipsets "$out/ipsets.exp" "$out/ipsets.save" "$out/sets.exp" "$out/sets.got" 2> "$out/err"; then
    echo "  $name [$be]: cannot interpret ipsets:"; sed 's/^/    /' "$out/err"; ok=1
  elif ! cmp -s "$out/sets.exp" "$out/sets.got"; then
    echo "  $name [$be]: ipsets differ (- expected ipsets.restore, + ipset save):"
    diff -u --label "expected ipsets" --label "saved ipsets" "$out/sets.exp" "$out/sets.got" | sed 's/^/    /'
    ok=1
  fi

  ip netns del "$cur_ns" 2>/dev/null
  cur_ns=""
  return $ok
}

# ---- main -------------------------------------------------------------------------------
pass=0
fail=0
for cdir in "$dir"/*/; do
  cdir=${cdir%/}
  [ -f "$cdir/iptables.restore" ] || [ -f "$cdir/ip6tables.restore" ] || [ -f "$cdir/ipsets.restore" ] || continue
  name=$(basename "$cdir")
  for be in "${BACKENDS[@]}"; do
    if run_case "$cdir" "$name" "$be" > "$work/report" 2>&1; then
      pass=$((pass + 1))
      echo "ok   $name [$be]"
    else
      fail=$((fail + 1))
      echo "FAIL $name [$be]"
      cat "$work/report"
    fi
  done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
