#!/usr/bin/env bash
# Real-Flink tier: resolves a standalone Flink cluster's classpath from Maven Central for each
# tested version (flink/, cached in ~/.m2 and $FLINKTUNE_CACHE, keyed by version; offline when
# cached), then runs the integration tests of the memory model (against Flink's BashJavaUtils),
# the local launcher (live TaskManagers), the REST fixtures, a real rescale and the
# simulator-vs-real fidelity check (a scenario run on both).
#   FLINKTUNE_FLINK_VERSIONS  versions to test (default "1.20.5 2.2.1")
#   FLINKTUNE_CACHE           cache directory (default ~/.cache/flinktune)
#   FLINKTUNE_PREPARE_ONLY=1  only prepare the classpaths; print FLINKTUNE_FLINK_DISTS=...
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
versions=${FLINKTUNE_FLINK_VERSIONS:-"1.20.5 2.2.1"}
cache=${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}
start=$(date +%s)

# The harness is rebuilt only when flink/ changed: its sources' hash keys the cache.
src_hash=$(find flink -path '*/target' -prune -o -type f \( -name '*.xml' -o -name '*.java' \) -print | sort | xargs sha256sum | sha256sum | cut -c1-16)

cached() { # version: the cached dist is complete and built from these sources
  local d=$cache/flink/$1
  [ "$(cat "$d/source.sha" 2>/dev/null)" = "$src_hash" ] && [ -f "$d/harness.jar" ] || return 1
  { cat "$d/classpath.txt"; echo; cat "$d/kafka-classpath.txt"; } | tr ':' '\n' | while read -r jar; do [ -z "$jar" ] || [ -f "$jar" ] || exit 1; done
}

dists=()
for v in $versions; do
  line=${v%.*}
  out=flink/harness/target/$v
  d=$cache/flink/$v
  if cached "$v"; then
    echo "-- Flink $v: cached in $d"
    dists+=("$d")
    continue
  fi
  echo "-- Flink $v: resolving the cluster classpath (profile flink-$line)"
  # Offline first: a warm ~/.m2 needs no network at all.
  if ! mvn -B -q -o -f flink/pom.xml -Pflink-"$line" -Dflink.version="$v" package >"${TMPDIR:-/tmp}/flinktune-mvn-$v.log" 2>&1; then
    mvn -B -q -f flink/pom.xml -Pflink-"$line" -Dflink.version="$v" package >"${TMPDIR:-/tmp}/flinktune-mvn-$v.log" 2>&1 || {
      tail -n 60 "${TMPDIR:-/tmp}/flinktune-mvn-$v.log"; exit 1; }
  fi
  mkdir -p "$d"
  cp "$out/flinktune-flink-harness-0.1.0.jar" "$d/harness.jar"
  cp "$out/classpath.txt" "$d/classpath.txt"
  cp "flink/kafka/target/$v/kafka-classpath.txt" "$d/kafka-classpath.txt" # the Kafka broker's (local up --kafka)
  echo "$v" >"$d/version"
  echo "$src_hash" >"$d/source.sha"
  dists+=("$d")
done
echo "-- classpaths ready in $(( $(date +%s) - start ))s"

FLINKTUNE_FLINK_DISTS=$(IFS=:; echo "${dists[*]}")
export FLINKTUNE_FLINK_DISTS
# `flinktune bench --on flink` prepares the classpaths here and runs the tests itself.
if [ "${FLINKTUNE_PREPARE_ONLY:-}" = 1 ]; then echo "FLINKTUNE_FLINK_DISTS=$FLINKTUNE_FLINK_DISTS"; exit 0; fi
logs=$cache/logs/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logs"
# Keep the logs of the last three runs.
ls -dt "$cache"/logs/run-* 2>/dev/null | tail -n +4 | xargs -r rm -rf
export FLINKTUNE_FLINK_LOGS=$logs

status=0
# Only the real-Flink tests (the fast tier already ran the rest), one package at a time so
# that JVMs do not compete for the two cores.
tests='TestAgainstBashJavaUtils|TestLiveTaskManagers|TestChildrenDieWithParent|TestRecordRESTFixtures|TestFidelityRealFlink|TestAutoscaleScenario|TestAgainstRealFlinkFixtures|TestTwinRealFlink'
tests+='|TestRealizerRollback'
tests+='|TestTinyProfilesRealFlink|TestSettleMisses|TestTimedOut'
tests+='|TestAutoscaleKafka|TestKafkaBrokerAndLoad'
tests+='|TestHeapStarvedRescue|TestMemoryTuningRealJob'
go test -tags integration -count=1 -p 1 -timeout 40m -run "$tests" -v ./memory/ ./memory/tiny/ ./local/ ./simrest/ \
  >"$logs/go-test.log" 2>&1 || status=$?
grep -E '^\s*(--- |ok|FAIL|PASS|panic)|_test.go:[0-9]+:' "$logs/go-test.log" || true
if [ "$status" != 0 ]; then
  echo "== real-Flink tier failed; Flink log tails from $logs"
  find "$logs" -name '*.log' -o -name '*.out' | sort | while read -r f; do
    echo "---- $f"; tail -n 40 "$f"
  done
  # Again last, so that a short tail of CI's output still shows what failed: each failed
  # test's last lines (a test's errors come at its end) and any panic. A multi-line log's
  # continuation lines (indented 8 or more: a recorded JSON result) are left out, or they
  # would be all the tail showed.
  echo "== real-Flink tier: what failed"
  grep -a -v -E '^ {8}' "$logs/go-test.log" | grep -a -B10 -E '^--- FAIL|^panic' | cut -c1-400 | tail -n 24 || true
fi
# No JVM of ours may outlive the tier.
if pgrep -f "flinktune-flink-harness|$cache/flink/" >/dev/null 2>&1; then
  echo "== stray Flink JVMs left behind:"; pgrep -af "$cache/flink/" || true
  status=1
fi
echo "-- real-Flink tier done in $(( $(date +%s) - start ))s (exit $status)"
exit "$status"
