#!/usr/bin/env bash
# Builds the local Kubernetes control plane used by the end-to-end lab
# (lab/cluster/up.sh): kube-apiserver, kube-controller-manager, kube-scheduler
# and kubectl of one Kubernetes release, etcd, and kwok (fake nodes/kubelets),
# from the modules go/kubernetes, go/etcd and go/kwok (go/README.md: the pins).
#
# Usage: lab/toolchain/kube.sh   -> prints one tool directory per line (for PATH).
# TOOLCHAIN_FORCE=1 rebuilds even when a stamped build is cached.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_VERSION=$(modver kubernetes k8s.io/kubernetes)
ETCD_VERSION=$(modver etcd go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(modver kwok sigs.k8s.io/kwok)

build_kube() {
  local out=$1 ver=$KUBE_VERSION major minor ldflags="-s -w" pkg
  major=${ver#v}; major=${major%%.*}
  minor=${ver#v*.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$ver -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit=unknown -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  # One invocation for all four binaries (the module's tools), so shared
  # packages compile once.
  cd "$2/kubernetes"
  go build -ldflags "$ldflags" -o "$out/" tool
}

build_etcd() {
  cd "$2/etcd"
  go build -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
  local out=$1 src stage
  cd "$2/kwok"
  go build -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
  # The standalone kwok binary has no built-in behaviour: it needs Stage
  # objects. Ship the release's own "fast" stages next to the binary (the set
  # kwokctl uses): nodes become Ready (heartbeats via leases), pods Running.
  src=$(module_src kwok sigs.k8s.io/kwok)
  mkdir -p "$out/stages"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    install -m 0644 "$src/kustomize/stage/$stage.yaml" "$out/stages/"
  done
}

start=$(date +%s)
go_tool etcd "$ETCD_VERSION" build_etcd etcd
go_tool kwok "$KWOK_VERSION" build_kwok kwok
go_tool kubernetes "$KUBE_VERSION" build_kube kubernetes
log "kube toolchain ready: $(($(date +%s) - start))s"
