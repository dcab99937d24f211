#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages through
# apt-get, npm packages, and the compiled CLI. `npm test` and `npm run lab`
# both start here, so a fresh machine needs nothing done by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------
# command -> package that provides it
declare -A want=(
  [ip]=iproute2
  [bridge]=iproute2
  [ovs-vswitchd]=openvswitch-switch
  [ovsdb-server]=openvswitch-switch
  [ovs-ofctl]=openvswitch-common
)
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
  # The packages' init scripts must not start a system Open vSwitch: tests and
  # the lab run their own daemons in private run directories.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# --- npm packages ----------------------------------------------------------
# Keyed on the lock file's content, not on mtimes: editing a script in
# package.json must not trigger `npm ci`, which empties node_modules under any
# test run that is using it.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.evpn-ecmp-lock-hash
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

# --- Helm (built once from its Go module, cached outside the repository) ---
bash scripts/build-helm.sh >/dev/null

# --- Kubernetes control plane ---------------------------------------------
# etcd, kube-apiserver, kube-controller-manager and kubectl for the
# integration tests and the lab, built once from their Go modules and cached
# outside the repository (a no-op when already built).
log "control plane: $(scripts/control-plane/build.sh)"

# --- compiled CLI ----------------------------------------------------------
log "building"
npx tsc -p tsconfig.build.json
