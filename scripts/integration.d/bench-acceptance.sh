#!/usr/bin/env bash
# flinktune's acceptance benchmark: on each example scenario (full length, both policies, default
# options) flinktune meets its targets against the operator's autoscaler (README, "flinktune versus
# the operator's autoscaler"). Pure Go, no JVM; it is a step of its own because it takes about a
# minute of both cores, more than the fast tier's budget. The scenarios run in parallel.
set -euo pipefail
cd "$(dirname "$0")/../.."
FLINKTUNE_ACCEPTANCE=1 go test -count=1 -timeout 20m -run 'TestTargetsOnExampleScenarios' ./bench/
# The examples' decision traces (TestGoldenDecisions pins the generated scenarios' in the fast
# tier; the examples take about 2.5 CPU-minutes for both policies).
FLINKTUNE_ACCEPTANCE=1 go test -count=1 -timeout 20m -run 'TestGoldenDecisions/(taskmanager-loss|wordcount-ramp|kafka-diurnal)/' ./bench/
