#!/usr/bin/env bash
# A real beacon node for the validator's system tests: Lodestar 1.5.1 (npm), the one release whose
# whole dependency tree the registry here serves, with every transitive version pinned by the
# package.json in ../shared/peers/lodestar-1.5.1 (see its README). npm 11 is run with
# --ignore-scripts (some install scripts fetch prebuilt binaries from GitHub, unreachable here),
# then the native modules that Lodestar loads are compiled with node-gyp against the local headers.
set -euo pipefail
repo="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
peer="$repo/../shared/peers/lodestar-1.5.1"
dir="$NEKTAR_CACHE/lodestar-1.5.1"
bin="$dir/node_modules/.bin/lodestar"
# Native modules built from source here. Without a build, snappy and bcrypto stop Lodestar from
# starting; bigint-buffer falls back to JS with a warning on every start (and slower SSZ hashing).
# classic-level and @chainsafe/blst ship prebuilt binaries in their packages.
natives=(snappy bcrypto bigint-buffer)

works() {
  [ -x "$bin" ] && cmp -s "$peer/package.json" "$dir/package.json" || return 1
  for m in "${natives[@]}"; do [ -d "$dir/node_modules/$m/build/Release" ] || return 1; done
  "$bin" --version >/dev/null 2>&1
}

if ! works; then
  [ -f "$peer/package.json" ] || { echo "lodestar: no $peer/package.json (../shared beside the repo)" >&2; exit 1; }
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9 # a concurrent run waits here rather than install twice
  if ! works; then
    cp "$peer/package.json" "$dir/package.json"
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    for m in "${natives[@]}"; do
      [ -d "$dir/node_modules/$m/build/Release" ] ||
        (cd "$dir/node_modules/$m" && nice -n 10 npx --yes node-gyp rebuild --nodedir=/usr -j 2 >&2)
    done
    "$bin" --version >&2
  fi
fi
echo "export LODESTAR=$bin"
