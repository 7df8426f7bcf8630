#!/usr/bin/env bash
# Builds kube-apiserver from the k8s.io/kubernetes Go module (no prebuilt binary can be
# downloaded here) and caches it outside the repository, keyed by version:
#   ~/.cache/flinktune/kube-apiserver/<version>/kube-apiserver
# k8s.io/kubernetes replaces its staging modules with ./staging paths, which a module
# that requires it cannot see; so the temp module replaces each of them with the
# published v0.<minor>.<patch> of the same release. Prints the binary's path.
set -euo pipefail
KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
staging_version="v0.${KUBE_VERSION#v1.}"
cache="${FLINKTUNE_CACHE:-$HOME/.cache/flinktune}/kube-apiserver/$KUBE_VERSION"
bin="$cache/kube-apiserver"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
{
  echo "module flinktune.local/kubeapiserver"
  echo "go 1.24.0"
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
} > go.mod
start=$(date +%s)
GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 5 go build -trimpath -ldflags "-s -w" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$tmp/kube-apiserver" "$bin"
echo "kube-apiserver $KUBE_VERSION built in $(( $(date +%s) - start )) s" >&2
echo "$bin"
