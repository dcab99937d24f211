#!/usr/bin/env bash
# Builds Helm once from its Go module with the machine's Go toolchain and caches
# the binary outside the repository. Prints the binary's path.
#
# Usage: scripts/build-helm.sh [--check]
#   --check   build nothing; exit 0 when Helm is cached, 1 when not
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/evpn-ecmp/bin/helm-$HELM_VERSION
if [ "${1:-}" = "--check" ]; then
  [ -x "$cache/helm" ]
  exit
fi
if [ ! -x "$cache/helm" ]; then
  command -v go >/dev/null || { echo "build-helm: Go toolchain not found" >&2; exit 1; }
  echo "build-helm: building helm $HELM_VERSION (once; cached in $cache)" >&2
  mkdir -p "$cache"
  GOFLAGS=-trimpath GOBIN="$cache" nice -n 10 go install -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
fi
echo "$cache/helm"
