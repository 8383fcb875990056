#!/usr/bin/env bash
# Fails when a C++ file of the repository is not as clang-format (with the root's
# .clang-format) writes it, or has an `if`/`for`/`while` without braces (clang-format 14
# cannot add them; fix those by hand or with clang-tidy's readability-braces-around-statements).
#
# It checks the source tree itself, found through the runfile link to .clang-format, so a
# new package is covered without being listed; the test is tagged "external" (never cached),
# because the files it reads are not its declared inputs.
set -euo pipefail
export LC_ALL=C

style=${1:?usage: format_test.sh PATH_TO_.clang-format}
top=$(dirname "$(readlink -f "$style")")
cd "$top"
if ! command -v clang-format >/dev/null; then
  echo "format_test: clang-format is not installed (tools/setup installs it)" >&2
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cc' '*.h')
else
  mapfile -t files < <(find . -path './bazel-*' -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
fi
((${#files[@]})) || { echo "format_test: no C++ files under $top" >&2; exit 1; }

bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue  # deleted but not yet committed
  if ! diff -u --label "$f" --label "$f (clang-format)" "$f" <(clang-format --style=file "$f"); then
    bad=1
  fi
done

# A control statement whose body is not a block: "if (x) return;" on one line, or a line that
# is just "if (...)" with its statement on the next. Conditions that wrap end their lines with
# an operator, so a line ending in ')' with balanced parentheses is a whole condition.
if ! awk '
  function balanced(s,   i, c, depth) {
    depth = 0
    for (i = 1; i <= length(s); i++) {
      c = substr(s, i, 1)
      if (c == "(") depth++
      else if (c == ")") depth--
    }
    return depth == 0
  }
  /^[ \t]*(\} else )?(if|for|while) \(/ && !/\{[ \t]*(\/\/.*)?$/ && !/;[ \t]*\)/ {
    line = $0
    sub(/[ \t]*\/\/.*$/, "", line)
    if (line ~ /\)[ \t]*$/ && balanced(line)) { print FILENAME ":" FNR ": no braces: " $0; found = 1 }
    else if (line ~ /\)[ \t]+[^ \t{].*;[ \t]*$/ && line !~ /\{/) { print FILENAME ":" FNR ": no braces: " $0; found = 1 }
  }
  END { exit found }
' "${files[@]}"; then
  bad=1
fi

if ((bad)); then
  echo "FAIL: format the files above: clang-format -i FILE (and add the missing braces)" >&2
  exit 1
fi
echo "PASS: ${#files[@]} C++ files formatted"
