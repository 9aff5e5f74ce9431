#!/usr/bin/env bash
# A real Kubernetes control plane for the operator's system tests: kube-apiserver,
# kube-controller-manager (garbage collector, namespace and workload controllers) and etcd.
#
# No release binaries can be downloaded here, so all three are built from source fetched through
# the Go module proxy: a scratch module requires k8s.io/kubernetes at KUBE_VERSION, pins every
# k8s.io/* staging module (required as v0.0.0 and replaced by ./staging/... in Kubernetes'
# own go.mod) to its matching v0.Y.Z release, and builds the commands. etcd is the
# go.etcd.io/etcd/server/v3 version that same Kubernetes release requires (its tested etcd;
# Debian's etcd-server 3.4.23 is below the 3.4.29/3.5.11 floor of Kubernetes >= 1.31).
#
# The first build takes tens of minutes on 2 cores; afterwards this script only checks the
# binaries and prints their paths. Output: `export VAR=value` lines on stdout, logs on stderr.
set -euo pipefail

# v1.37.2's source is not served by the module proxy mirror here; v1.37.1 is the newest that is.
KUBE_VERSION=v1.37.1

: "${NEKTAR_CACHE:=$HOME/.cache/nektar}"
root="$NEKTAR_CACHE/kube/$KUBE_VERSION"
bin="$root/bin"
binaries=(kube-apiserver kube-controller-manager etcd)

print_env() {
  echo "export KUBE_VERSION=$KUBE_VERSION"
  echo "export KUBE_APISERVER=$bin/kube-apiserver"
  echo "export KUBE_CONTROLLER_MANAGER=$bin/kube-controller-manager"
  echo "export ETCD=$bin/etcd"
}

built() {
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done
  "$bin/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $KUBE_VERSION"
}

if built; then print_env; exit 0; fi

command -v go >/dev/null || { echo "kube: 'go' (>= 1.21) is needed on PATH to build Kubernetes" >&2; exit 1; }

# Two engineers running the system tests at once wait for one build instead of racing two.
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if built; then print_env; exit 0; fi

# Module and build caches live in the cache too, so a rebuild (or a version bump) reuses them.
export GOMODCACHE="$NEKTAR_CACHE/go/mod" GOCACHE="$NEKTAR_CACHE/go/build"
export GOFLAGS="-p=2 -trimpath -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
start=$SECONDS

src="$root/src"
rm -rf "$src"
mkdir -p "$src"
cd "$src"

echo "kube: fetching k8s.io/kubernetes@$KUBE_VERSION (source only, ~120 MB)" >&2
download="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")" ||
  { echo "kube: could not fetch k8s.io/kubernetes@$KUBE_VERSION: $download" >&2; exit 1; }
kube_mod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$download")"
staging_version="v0.${KUBE_VERSION#v1.}"

{
  echo "module nektar.local/kube"
  echo
  echo "go 1.26"
  echo
  echo "tool ("
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
  echo "	go.etcd.io/etcd/server/v3"
  echo ")"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  awk -v v="$staging_version" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print "\t" $1 " => " $1 " " v }' "$kube_mod"
  echo ")"
} > go.mod

echo "kube: resolving dependencies" >&2
nice -n 10 go mod tidy >&2

ldflags="-s -w"
for key in "gitVersion=$KUBE_VERSION" "gitMajor=1" "gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" \
  "gitTreeState=clean" "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
  ldflags+=" -X k8s.io/component-base/version.$key -X k8s.io/client-go/pkg/version.$key"
done

echo "kube: building ${binaries[*]} (first time: tens of minutes)" >&2
rm -rf "$bin.partial"
mkdir -p "$bin.partial"
nice -n 10 go build -ldflags "$ldflags" -o "$bin.partial/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager >&2
nice -n 10 go build -ldflags "-s -w" -o "$bin.partial/etcd" go.etcd.io/etcd/server/v3 >&2
rm -rf "$bin"
mv "$bin.partial" "$bin"
echo "kube: built in $((SECONDS - start)) s into $bin" >&2

built || { echo "kube: $bin/kube-apiserver does not report $KUBE_VERSION" >&2; exit 1; }
print_env
