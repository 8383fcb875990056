#!/usr/bin/env bash
# Builds and runs examples/agent the way an outside workspace uses fiptgen: its own WORKSPACE
# (local_repository(name = "fiptgen", path = "../..") and fiptgen_dependencies()), its own
# Bazel server and output base, downloading nothing (its repository cache stays empty), and
# checks what the agent prints. Leaves nothing in the source tree (no bazel-* symlinks);
# shuts its server down and removes its output base when done.
#
# Usage: tools/build_outside_example.sh     (from anywhere; takes a few minutes on 2 cores)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="$repo/examples/agent"
work="$(mktemp -d "${TMPDIR:-/tmp}/fiptgen-outside.XXXXXX")"
output_base="$work/output_base"

in_example() { (cd "$example" && bazel --output_base="$output_base" "$@"); }
cleanup() {
  in_example shutdown >/dev/null 2>&1 || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- agent output:" >&2
  cat "$work/out" >&2 || true
  exit 1
}

echo "building examples/agent as an outside workspace (output base $output_base)"
if ! in_example run --repository_cache="$work/repository_cache" --symlink_prefix=/ \
  --noshow_progress //:agent \
  >"$work/out" 2>"$work/err"; then
  cat "$work/err" >&2
  fail "bazel run //:agent in examples/agent"
fi
cat "$work/out"

# The agent's story: a first apply of everything, then one endpoint's change alone.
grep -qE '^first apply: [1-9][0-9]* chains, 0 ipsets, [1-9][0-9]* changes$' "$work/out" ||
  fail "no first-apply line"
grep -qE '^endpoint w2 gets profile ssh-from-web: [1-9][0-9]* changes$' "$work/out" ||
  fail "no change line"
# The plan of the change: the tag set the new profile names, the profile's chain, and w2's
# chain edited in place (its other rules keep their counters).
for line in \
  'create felix-v4-web hash:ip family inet' \
  'add felix-v4-web 198.18.1.1' \
  'add felix-v4-web 198.18.1.2' \
  ':felix-p-ssh-from-web-i - [0:0]' \
  '-I felix-to-w2 4 -j felix-p-ssh-from-web-i'; do
  grep -qxF -- "$line" "$work/out" || fail "the plan has no line: $line"
done
# ...and nothing of w1, which did not change.
if grep -qE 'felix-(to|from)-w1' "$work/out"; then
  fail "the plan touches w1, which did not change"
fi
# Nothing was downloaded: every repository is local (repositories.bzl, bazel's own tools).
if [ -n "$(find "$work/repository_cache" -type f 2>/dev/null)" ]; then
  fail "bazel downloaded into its repository cache: $(find "$work/repository_cache" -type f)"
fi
# Nothing was written into the source tree.
if compgen -G "$example/bazel-*" >/dev/null; then
  fail "bazel-* symlinks in $example"
fi
echo "ok: examples/agent builds against @fiptgen as an outside workspace and plans one change"
