#!/usr/bin/env bash
# npm run bench: runs every benchmark inside a private network namespace made
# for this run (the kernel state they build never touches the host's), then
# removes it. Arguments are passed on (e.g. --scale smoke, --only B1,B2).
# The agent and operator run as the compiled CLI (dist/cli/main.js), built
# here first so the figures are those of the shipped program.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
npx tsc -p tsconfig.build.json >&2
# A run killed with SIGKILL never reaches its EXIT trap: remove the
# namespaces of runs whose process is gone before making this one's.
for stale in $(ip netns list | awk '$1 ~ /^evb-[0-9]+$/ {print $1}'); do
  kill -0 "${stale#evb-}" 2>/dev/null || ip netns delete "$stale" 2>/dev/null || true
done
ns="evb-$$"
ip netns add "$ns"
trap 'ip netns delete "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip netns exec "$ns" node --import tsx bench/run.ts "$@"
