#!/usr/bin/env bash
# The repository explains itself: every relative link of every Markdown file resolves to a
# file inside the repository, and no tracked file cites a path outside it (a spec or notes
# that users do not have).
#
# Like //tools:format_test it reads the source tree itself, found through the runfile link to
# README.md, so new files are covered without being listed ("external": never cached).
set -euo pipefail
export LC_ALL=C

readme=${1:?usage: links_test.sh PATH_TO_README.md}
top=$(dirname "$(readlink -f "$readme")")
cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard)
else
  mapfile -t files < <(find . -path './bazel-*' -prune -o -path ./.git -prune -o -type f -print)
fi

bad=0
checked=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  case "$f" in
    docs/links_test.sh) continue ;;  # names the patterns it looks for
  esac
  if grep -nE 'SPEC\.md|\.\./shared|seed-felix-chains' "$f" /dev/null; then
    echo "$f: cites a file outside the repository (say it here, in docs/)" >&2
    bad=1
  fi
  case "$f" in *.md) ;; *) continue ;; esac
  dir=$(dirname "$f")
  # Inline links and images: ](target) or ](target "title"); not URLs, not in-page anchors.
  while IFS= read -r target; do
    target=${target%% *}
    path=${target%%#*}
    case "$target" in
      http://* | https://* | mailto:* | '#'*) continue ;;
    esac
    checked=$((checked + 1))
    resolved=$(realpath -m "$dir/$path")
    case "$resolved" in
      "$top" | "$top"/*) ;;
      *) echo "$f: link \"$target\" points outside the repository" >&2; bad=1; continue ;;
    esac
    if [ ! -e "$resolved" ]; then
      echo "$f: link \"$target\" resolves to nothing" >&2
      bad=1
    fi
  done < <(grep -oE '\]\([^)]+\)' "$f" | sed -E 's/^\]\((.*)\)$/\1/')
done

if ((bad)); then
  echo "FAIL" >&2
  exit 1
fi
echo "PASS: ${#files[@]} files, $checked relative links"
