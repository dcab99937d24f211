#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages through
# apt-get, npm packages, the control plane (and, for the tests, Helm) built
# from their Go modules, and the compiled CLI. `npm test` and `npm run lab`
# both start here, so a fresh machine needs nothing done by hand.
#
# Usage: scripts/bootstrap.sh [test|lab]
#   test (default)  everything `npm test` needs
#   lab             what `npm run lab` needs: no Helm (the lab renders nothing
#                   with it; its copy of the chart's security manifests is
#                   checked against `helm template` by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-test}
case "$purpose" in
  test | lab) ;;
  *) echo "usage: $0 [test|lab]" >&2; exit 2 ;;
esac

log() { printf 'bootstrap: %s\n' "$*" >&2; }

steps=(debian npm control-plane compile)
[ "$purpose" = test ] && steps=(debian npm control-plane helm node-lts compile)
step=0
begin() {
  step=$((step + 1))
  log "[$step/${#steps[@]}] $*"
}

# --- what the first run will build, said before it starts ------------------
# Go builds are the slow part: on 2 cores with an empty Go cache the control
# plane takes about 15 minutes, Helm about 8 more. Later runs reuse the cache.
cp_dir=$(scripts/control-plane/build.sh --print-dir)
todo=()
for bin in etcd kube-apiserver kube-controller-manager kubectl; do
  [ -x "$cp_dir/$bin" ] || todo+=("$bin")
done
minutes=0
((${#todo[@]})) && minutes=15
helm_missing=false
if [ "$purpose" = test ] && ! bash scripts/build-helm.sh --check >/dev/null 2>&1; then
  helm_missing=true
  minutes=$((minutes + 8))
fi
if ((minutes > 0)); then
  builds=("${todo[@]}")
  $helm_missing && builds+=(helm)
  log "first run on this machine: building $(IFS=,; echo "${builds[*]}" | sed 's/,/, /g') from Go modules — about $minutes minutes on 2 cores; cached in ~/.cache/evpn-ecmp for every later run"
fi

# --- Debian packages -------------------------------------------------------
# command (or absolute path) -> package that provides it
declare -A want=(
  [ip]=iproute2
  [bridge]=iproute2
  [ovs-vswitchd]=openvswitch-switch
  [ovsdb-server]=openvswitch-switch
  [ovs-ofctl]=openvswitch-common
  # The lab's and the tests' EVPN control plane: FRR's zebra and bgpd (not on
  # PATH) and vtysh, and GoBGP where FRR cannot announce (see README).
  [/usr/lib/frr/zebra]=frr
  [/usr/lib/frr/bgpd]=frr
  [vtysh]=frr
  [gobgpd]=gobgpd
  [gobgp]=gobgpd
)
begin "Debian packages"
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
if ((${#missing[@]})); then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: $pkgs — run this script as root to install them"
    exit 1
  fi
  log "installing $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The packages' init scripts must not start a system Open vSwitch or FRR:
  # tests and the lab run their own daemons in private run directories and
  # network namespaces.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# --- npm packages ----------------------------------------------------------
# Keyed on the lock file's content, not on mtimes: editing a script in
# package.json must not trigger `npm ci`, which empties node_modules under any
# test run that is using it.
begin "npm packages"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.evpn-ecmp-lock-hash
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

# --- Kubernetes control plane ---------------------------------------------
# etcd, kube-apiserver, kube-controller-manager and kubectl for the
# integration tests and the lab, built once from their Go modules and cached
# outside the repository (a no-op when already built).
begin "Kubernetes control plane${todo[*]:+ (building ${todo[*]})}"
# (Assigned first: a failure inside an argument's $(...) would not stop the script.)
cp_bin=$(scripts/control-plane/build.sh)
log "control plane: $cp_bin"

# --- Helm (tests only: built once from its Go module, cached) --------------
if [ "$purpose" = test ]; then
  begin "Helm"
  bash scripts/build-helm.sh >/dev/null
fi

# --- the container image's Node.js LTS (tests only: they run on it too) ----
if [ "$purpose" = test ]; then
  begin "Node.js LTS of the image"
  bash scripts/node-lts.sh >/dev/null
fi

# --- compiled CLI ----------------------------------------------------------
begin "compiling the CLI"
npx tsc -p tsconfig.build.json
