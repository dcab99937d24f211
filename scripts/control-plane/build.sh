#!/usr/bin/env bash
# Builds the real Kubernetes control plane that the integration tests and the
# local lab run against — etcd, kube-apiserver, kube-controller-manager (its
# garbage collector removes objects whose owner is deleted) and a kubectl of
# the same release — from their Go modules, with the machine's Go toolchain and
# the Go module proxy. Binaries are cached outside the repository:
#
#   ${XDG_CACHE_HOME:-~/.cache}/evpn-ecmp/bin/<kubernetes-version>/
#
# Idempotent: a binary that is already cached is not rebuilt. Prints the cache
# directory on stdout (the test harness and the lab read it from there too).
#
# Usage: scripts/control-plane/build.sh [--print-dir]
#   --print-dir   only print the cache directory, build nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf 'control-plane: %s\n' "$*" >&2; }

# The Kubernetes release comes from go.mod, the single place it is pinned.
k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$here/go.mod")
[ -n "$k8s_version" ] || { log "cannot find k8s.io/kubernetes in $here/go.mod"; exit 1; }
bindir="${XDG_CACHE_HOME:-$HOME/.cache}/evpn-ecmp/bin/$k8s_version"

if [ "${1:-}" = "--print-dir" ]; then
  printf '%s\n' "$bindir"
  exit 0
fi

# binary name -> main package
declare -A mains=(
  [etcd]=./etcd
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
)
order=(etcd kube-apiserver kube-controller-manager kubectl)

todo=()
for bin in "${order[@]}"; do
  [ -x "$bindir/$bin" ] || todo+=("$bin")
done
if ((${#todo[@]} == 0)); then
  printf '%s\n' "$bindir"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "the Go toolchain is required (Debian: golang-go, or go.dev/dl)"; exit 1; }
mkdir -p "$bindir"
cd "$here"

# Kubernetes stamps its version into the binaries through ldflags (its own
# hack/lib/version.sh does the same); without it `kubectl version` and the
# apiserver's /version report v0.0.0-master, which confuses version-skew checks.
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=$k8s_version -X $ver_pkg.gitTreeState=clean"
ldflags+=" -X $ver_pkg.gitMajor=$(echo "${k8s_version#v}" | cut -d. -f1)"
ldflags+=" -X $ver_pkg.gitMinor=$(echo "${k8s_version#v}" | cut -d. -f2)"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"

export CGO_ENABLED=0
# go.mod asks for Go 1.24; an older toolchain (>= 1.21) fetches that one
# through the module proxy instead of failing (distributions set "local").
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="-trimpath -buildvcs=false"
for bin in "${todo[@]}"; do
  log "building $bin ($k8s_version) — the first build takes a while"
  start=$SECONDS
  # Build to a temporary name and rename, so an interrupted build never leaves
  # a truncated binary that the idempotency check above would accept.
  nice -n 19 go build -ldflags "$ldflags" -o "$bindir/.$bin.tmp" "${mains[$bin]}"
  mv -f "$bindir/.$bin.tmp" "$bindir/$bin"
  log "built $bindir/$bin in $((SECONDS - start))s"
done
printf '%s\n' "$bindir"
