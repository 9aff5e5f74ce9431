#!/usr/bin/env bash
# Provisions the system components that `npm run test:system` needs, into a cache outside the
# repo (NEKTAR_CACHE, default ~/.cache/nektar). Idempotent: a component already built is reused.
#   bash test/system/provision.sh            # everything
#   bash test/system/provision.sh python     # one component (a file in provision/)
# Each component script prints `export NAME=VALUE` lines on stdout for the tests to read; they
# are collected in $NEKTAR_CACHE/env.sh, which the jest setup loads.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export NEKTAR_CACHE="${NEKTAR_CACHE:-$HOME/.cache/nektar}"
mkdir -p "$NEKTAR_CACHE"

components=("$@")
if [ ${#components[@]} -eq 0 ]; then
  components=()
  for f in "$here"/provision/*.sh; do components+=("$(basename "$f" .sh)"); done
fi

for c in "${components[@]}"; do
  script="$here/provision/$c.sh"
  [ -f "$script" ] || { echo "provision: no component '$c' (see $here/provision/)" >&2; exit 2; }
  start=$SECONDS
  echo "provision: $c ..." >&2
  bash "$script" > "$NEKTAR_CACHE/env.$c.sh"
  echo "provision: $c ready in $((SECONDS - start)) s" >&2
done
cat "$NEKTAR_CACHE"/env.*.sh > "$NEKTAR_CACHE/env.sh"
