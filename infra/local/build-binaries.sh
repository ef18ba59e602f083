#!/usr/bin/env bash
# Builds the local Kubernetes stack's binaries from pinned Go modules:
#   etcd (infra/local/etcd), kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
#   (infra/local/kube), kwok and kwokctl (sigs.k8s.io/kwok).
# Binaries are cached by version and by the hash of the pinning files, so a second run
# returns at once. Prints the binary folder on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_VERSION=v1.36.3
KWOK_VERSION=v0.8.0

command -v go >/dev/null || { echo "go is missing: install Go >= 1.26 (https://go.dev/dl) to build the local Kubernetes binaries" >&2; exit 1; }

cache_root=${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}
key=$(cat "$here/kube/go.mod" "$here/kube/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum" "$0" | sha256sum | cut -c1-12)
bin="$cache_root/bin/kube-$KUBE_VERSION-kwok-$KWOK_VERSION-$key"

want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl)
missing=()
for b in "${want[@]}"; do [ -x "$bin/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$bin"; exit 0; fi

# Two stacks starting at once on a cold cache must not build into the same folder.
mkdir -p "$cache_root/bin"
exec 9>"$cache_root/bin/.build.lock"
flock 9
missing=()
for b in "${want[@]}"; do [ -x "$bin/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$bin"; exit 0; fi

mkdir -p "$bin.partial"
log() { echo "[build-binaries] $*" >&2; }
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

export CGO_ENABLED=0 GOFLAGS=-mod=readonly
for b in "${missing[@]}"; do
  case "$b" in
    etcd)
      log "building etcd (first time only)"
      (cd "$here/etcd" && go build -trimpath -o "$bin.partial/etcd" .) ;;
    kube-*|kubectl)
      log "building $b $KUBE_VERSION (first time only; several minutes on 2 cores)"
      (cd "$here/kube" && go build -trimpath -ldflags "-s -w $stamp" -o "$bin.partial/$b" "k8s.io/kubernetes/cmd/$b") ;;
    kwok|kwokctl)
      log "installing $b $KWOK_VERSION"
      GOFLAGS= GOBIN="$bin.partial" go install "sigs.k8s.io/kwok/cmd/$b@$KWOK_VERSION" ;;
  esac
done
mkdir -p "$bin"
for b in "${missing[@]}"; do mv -f "$bin.partial/$b" "$bin/$b"; done
rmdir "$bin.partial" 2>/dev/null || true
echo "$bin"
