#!/usr/bin/env bash
# The README's test command: the fast tier (go test ./..., no JVM), then every real component's
# tier. Each script in scripts/integration.d prepares its own component (Maven artifacts, cached
# outside the repository) and runs its tests under the `integration` build tag.
# FLINKTUNE_FAST_ONLY=1 runs the fast tier alone.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fast tier: go test ./..."
go test -timeout 20m ./...

if [ "${FLINKTUNE_FAST_ONLY:-}" = 1 ]; then
  echo "== integration tier skipped (FLINKTUNE_FAST_ONLY=1)"
  exit 0
fi
shopt -s nullglob
for step in scripts/integration.d/*.sh; do
  echo "== integration: $step"
  bash "$step"
done
