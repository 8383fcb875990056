#!/usr/bin/env bash
# Fails when a file of the library includes a header of a layer it may not build on
# (fiptgen/BUILD.bazel draws the layers). Tests (*_test.cc) may include anything. A new
# file needs a layer here.
set -euo pipefail

declare -A layer=(
  [net]=base [protocols]=base [rule_text]=base [append]=base [sha256]=base [status_macros]=base [version]=base
  [model]=model [layout]=model [names]=model [ruleset]=model
  [load]=loader [validate]=loader [validate_loaded]=loader [error_path]=loader [json]=loader
  [chain_factory]=generator_internals [generator_state]=generator_internals
  [generate]=generator
  [render]=text [graph]=text [observed]=text [plan]=text [chain_edit]=text
  [incremental]=agent
  [apply]=applier
  [simulate]=behaviour [flows]=behaviour [trace_text]=behaviour
)
# What each layer may include besides itself.
declare -A may_include=(
  [base]=""
  [model]="base"
  [loader]="base model"
  [generator_internals]="base model"
  [generator]="base model generator_internals"
  [text]="base model"
  [agent]="base model loader generator_internals generator text"
  [applier]="base model text"
  [behaviour]="base model text"
)

bad=0
for file in "$@"; do
  base=$(basename "$file")
  case "$base" in *_test.cc) continue ;; esac
  stem=${base%.*}
  own=${layer[$stem]:-}
  if [ -z "$own" ]; then
    echo "$file: no layer; add \"$stem\" to fiptgen/layering_test.sh" >&2
    bad=1
    continue
  fi
  while read -r included; do
    theirs=${layer[$included]:-}
    if [ -z "$theirs" ]; then
      echo "$file includes fiptgen/$included.h, which has no layer" >&2
      bad=1
    elif [ "$theirs" != "$own" ] && [[ " ${may_include[$own]} " != *" $theirs "* ]]; then
      echo "$file ($own) includes fiptgen/$included.h ($theirs): not a layer it builds on" >&2
      bad=1
    fi
  done < <(sed -n 's|^#include "fiptgen/\([a-z_]*\)\.h".*|\1|p' "$file")
done
exit $bad
