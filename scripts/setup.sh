#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh machine, and nothing twice:
#   - Node 24 (the npm package `node`, from the npm registry) and the npm dependencies, from the lockfile;
#   - Prometheus and promtool from Debian;
#   - the container registry (Debian's docker-registry, the CNCF distribution server);
#   - etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and kwokctl, built from
#     pinned Go modules and cached by version (infra/local/build-binaries.sh).
# Checks for Google's Firestore and Pub/Sub emulators, which come with the machine's google-cloud-cli.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { echo "[setup] $*" >&2; }
fail() { echo "[setup] error: $*" >&2; exit 1; }

# 1. npm dependencies (with Node 24) from the lockfile, reinstalled only when the lockfile changed.
stamp=node_modules/.switchyard-lockfile
want=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -x node_modules/.bin/node ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing npm dependencies and Node 24 from the lockfile"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
node_version=$(node_modules/.bin/node --version)
case "$node_version" in v24.*) ;; *) fail "node_modules/.bin/node is $node_version, expected v24 (npm package node@24)";; esac

# 2. Prometheus from Debian.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing prometheus from Debian"
    (apt-get install -y -q prometheus || { apt-get update -q && apt-get install -y -q prometheus; }) >&2
  else
    fail "prometheus is missing: run 'sudo apt-get install -y prometheus'"
  fi
fi

# 2b. The local stack's container registry from Debian (the package's own service is not used: the
# stack runs the binary on its own port and folder; policy-rc.d keeps it from starting on machines
# without an init system).
if ! command -v docker-registry >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing docker-registry from Debian"
    (apt-get install -y -q docker-registry || { apt-get update -q && apt-get install -y -q docker-registry; }) >&2
  else
    fail "docker-registry is missing: run 'sudo apt-get install -y docker-registry'"
  fi
fi

# 3. Google's emulators (part of the machine image; they cannot be installed from here).
sdk_root=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null) \
  || fail "gcloud is missing: install the Debian package google-cloud-cli"
[ -x "$sdk_root/platform/cloud-firestore-emulator/cloud_firestore_emulator" ] \
  || fail "the Firestore emulator is missing: install google-cloud-cli-firestore-emulator"
[ -x "$sdk_root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ] \
  || fail "the Pub/Sub emulator is missing: install google-cloud-cli-pubsub-emulator"
command -v java >/dev/null || fail "java is missing: the emulators need Java 17 (apt-get install openjdk-17-jre-headless)"

# 4. The local Kubernetes binaries (cached after the first build).
go_minor=$(go env GOVERSION 2>/dev/null | sed -E 's/^go1\.([0-9]+).*/\1/') || true
[ -n "${go_minor:-}" ] && [ "$go_minor" -ge 26 ] || fail "Go >= 1.26 is needed to build the local Kubernetes binaries"
bash infra/local/build-binaries.sh >/dev/null
say "ready"
