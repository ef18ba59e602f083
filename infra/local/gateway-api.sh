#!/usr/bin/env bash
# Prints the folder of the Gateway API standard-channel CRDs (config/crd/standard/) of a pinned
# sigs.k8s.io/gateway-api release, taken from the Go module itself, so the local stack serves the
# same HTTPRoute schema as a GKE cluster with that Gateway API version. Go caches the module: after
# the first download this returns at once and needs no network. Progress goes to stderr.
set -euo pipefail

GATEWAY_API_VERSION=v1.7.0
module=sigs.k8s.io/gateway-api

command -v go >/dev/null || { echo "go is missing: install Go >= 1.26 (https://go.dev/dl) to fetch the Gateway API CRDs" >&2; exit 1; }

# Outside any module, so no go.mod of the repository decides what gets downloaded; GOTOOLCHAIN=local
# because only the module's files are wanted, never a newer Go toolchain its go.mod might ask for.
info=$(cd / && GOFLAGS= GOTOOLCHAIN=local go mod download -json "$module@$GATEWAY_API_VERSION" || true)
field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" <<<"$info"; }
dir=$(field Dir)
if [ -n "$dir" ] && [ -d "$dir/config/crd/standard" ]; then
  echo "$dir/config/crd/standard"
  exit 0
fi

# v1.7.0's go.mod says `go 1.27.0`, so an older toolchain downloads and verifies the module zip
# (against the Go checksum database) but refuses to extract it. The CRDs are plain YAML: take
# them from the verified zip instead, once, into our own cache.
zip=$(field Zip)
if [ -z "$zip" ] || [ ! -f "$zip" ]; then
  echo "could not download $module@$GATEWAY_API_VERSION: $(field Error)" >&2
  exit 1
fi
cache_root=${SWITCHYARD_CACHE:-$HOME/.cache/switchyard}
out="$cache_root/gateway-api/$GATEWAY_API_VERSION/standard"
if [ ! -d "$out" ]; then
  command -v unzip >/dev/null || { echo "unzip is missing: install it to extract the Gateway API CRDs" >&2; exit 1; }
  echo "[gateway-api] extracting $module@$GATEWAY_API_VERSION config/crd/standard from $zip" >&2
  mkdir -p "$cache_root/gateway-api/$GATEWAY_API_VERSION"
  tmp=$(mktemp -d "$cache_root/gateway-api/.extract.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  unzip -q "$zip" "$module@$GATEWAY_API_VERSION/config/crd/standard/*" -d "$tmp"
  # A rename is atomic: two stacks starting at once never see a half-written folder.
  mv -T "$tmp/$module@$GATEWAY_API_VERSION/config/crd/standard" "$out" 2>/dev/null || [ -d "$out" ]
fi
echo "$out"
