#!/usr/bin/env bash
# Scale and isolation goals of `flinktune run` (issue 13), too long for the fast tier:
# 1000 simulated jobs on 4 `flinktune sim` clusters plus one hung cluster, 2 minutes at a 10 s
# interval. Fails unless every healthy job is evaluated every interval (p99 of the gaps
# <= 1.2 x interval) and run stays under 150 MB resident.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench 'BenchmarkRun1000JobsHungCluster$' -benchtime 1x -timeout 10m ./e2e
