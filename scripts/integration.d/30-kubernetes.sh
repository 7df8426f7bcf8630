#!/usr/bin/env bash
# Kubernetes tier: a real API server on loopback. Installs Debian's etcd-server when etcd
# is missing, builds kube-apiserver from the k8s.io/kubernetes module once (about 8+ min
# on 2 cores; cached in ~/.cache/flinktune/kube-apiserver/<version>), then runs the kube
# package's integration tests: the harness starts etcd and kube-apiserver itself and stops
# them (and every flinktune process) when the tests end, failed or not.
#   KUBE_VERSION     kube-apiserver version (default v1.34.4)
#   FLINKTUNE_CACHE  cache directory (default ~/.cache/flinktune)
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
if ! command -v etcd >/dev/null 2>&1; then
  echo "-- installing etcd-server (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq etcd-server >/dev/null
  # The harness runs its own etcd on free ports (the package's service, if started, is unused).
fi
echo "-- kube-apiserver ${KUBE_VERSION:-v1.34.4}"
FLINKTUNE_KUBE_APISERVER=$(scripts/kube-apiserver-build.sh)
export FLINKTUNE_KUBE_APISERVER
echo "-- ready in $(( $(date +%s) - start ))s: $FLINKTUNE_KUBE_APISERVER"
go test -tags integration -count=1 -p 1 -timeout 20m -v ./kube/ 2>&1 | grep -E '^\s*(--- |ok|FAIL|PASS|panic)|_test.go:[0-9]+:|control plane' ; status=${PIPESTATUS[0]}
echo "-- Kubernetes tier done in $(( $(date +%s) - start ))s (exit $status)"
exit "$status"
