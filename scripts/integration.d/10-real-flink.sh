#!/usr/bin/env bash
# Real-Flink tier: resolves a standalone Flink cluster's classpath from Maven Central for each
# tested version (flink/, cached in ~/.m2 and $FLINKTUNE_CACHE, keyed by version; offline when
# cached), then runs the integration tests of the memory model (against Flink's BashJavaUtils),
# the local launcher (live TaskManagers) and the REST fixtures.
#   FLINKTUNE_FLINK_VERSIONS  versions to test (default "1.20.5 2.2.1")
#   FLINKTUNE_CACHE           cache directory (default ~/.cache/flinktune)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
versions=${FLINKTUNE_FLINK_VERSIONS:-"1.20.5 2.2.1"}
cache=${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}
start=$(date +%s)

dists=()
for v in $versions; do
  line=${v%.*}
  out=flink/harness/target/$v
  echo "-- Flink $v: resolving the cluster classpath (profile flink-$line)"
  # Offline first: a warm ~/.m2 needs no network at all.
  if ! mvn -B -q -o -f flink/pom.xml -Pflink-"$line" -Dflink.version="$v" package >/tmp/flinktune-mvn-$v.log 2>&1; then
    mvn -B -q -f flink/pom.xml -Pflink-"$line" -Dflink.version="$v" package >/tmp/flinktune-mvn-$v.log 2>&1 || {
      tail -n 60 /tmp/flinktune-mvn-$v.log; exit 1; }
  fi
  d=$cache/flink/$v
  mkdir -p "$d"
  cp "$out/flinktune-flink-harness-0.1.0.jar" "$d/harness.jar"
  cp "$out/classpath.txt" "$d/classpath.txt"
  echo "$v" >"$d/version"
  dists+=("$d")
done
echo "-- classpaths ready in $(( $(date +%s) - start ))s"

FLINKTUNE_FLINK_DISTS=$(IFS=:; echo "${dists[*]}")
export FLINKTUNE_FLINK_DISTS
logs=$cache/logs/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logs"
export FLINKTUNE_FLINK_LOGS=$logs

status=0
go test -tags integration -count=1 -timeout 25m ./memory/ ./local/ ./simrest/ || status=$?
if [ "$status" != 0 ]; then
  echo "== real-Flink tier failed; Flink log tails from $logs"
  find "$logs" -name '*.log' -o -name '*.out' | sort | while read -r f; do
    echo "---- $f"; tail -n 40 "$f"
  done
fi
# No JVM of ours may outlive the tier.
if pgrep -f "flinktune-flink-harness|$cache/flink/" >/dev/null 2>&1; then
  echo "== stray Flink JVMs left behind:"; pgrep -af "$cache/flink/" || true
  status=1
fi
echo "-- real-Flink tier done in $(( $(date +%s) - start ))s (exit $status)"
exit "$status"
