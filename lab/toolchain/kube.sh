#!/usr/bin/env bash
# Builds the local Kubernetes control plane used by the end-to-end lab
# (lab/cluster/up.sh): kube-apiserver, kube-controller-manager, kube-scheduler
# and kubectl of one Kubernetes release, etcd, and kwok (fake nodes/kubelets).
# Everything comes from the Go module proxy; nothing is downloaded otherwise.
#
# Usage: lab/toolchain/kube.sh   -> prints one tool directory per line (for PATH).
# Set KUBE_BUILD_FORCE=1 to rebuild even when a stamped build is cached.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Kubernetes release (its go.mod says go 1.26.0, so the local Go 1.26.8 builds it as is).
KUBE_VERSION=v1.36.3
# etcd server; the 3.6 line is what Kubernetes 1.36 is built and tested against.
ETCD_VERSION=v3.6.16
# kwok release; v0.8.0 is built on the Kubernetes 0.36 libraries.
KWOK_VERSION=v0.8.0
# Language version written into the throwaway wrapper modules (matches the three above).
WRAPPER_GO=1.26.0

# Never switch to another Go toolchain behind our back: fail instead.
export GOTOOLCHAIN=local

# A wrapper module's source lives here; it is rebuilt from scratch each time.
wrapper_dir() { printf '%s/src/%s-%s' "$FLUX_CAPSULE_CACHE" "$1" "$2"; }

# new_wrapper NAME VERSION -> makes an empty wrapper module dir and prints it.
new_wrapper() {
  local d
  d=$(wrapper_dir "$1" "$2")
  rm -rf "$d"
  mkdir -p "$d"
  printf '%s' "$d"
}

# The go.mod file of MODULE@VERSION, fetched through the proxy into GOMODCACHE.
modfile_of() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'
}

build_kube() {
  local out src modfile staging ver="$KUBE_VERSION"
  local lib="v0.${ver#v1.}" # k8s.io/kubernetes v1.X.Y <-> staging modules v0.X.Y
  out=$(tool_dir kubernetes "$ver")
  src=$(new_wrapper kubernetes "$ver")
  modfile=$(modfile_of k8s.io/kubernetes "$ver")
  [ -s "$modfile" ] || { log "cannot fetch k8s.io/kubernetes@$ver go.mod"; return 1; }
  # Staging modules are required as "k8s.io/<x> v0.0.0" and replaced by a
  # local path inside the kubernetes repo; here each is replaced by its
  # published release instead.
  staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$modfile" | sort -u)
  {
    printf 'module flux-capsule.local/kube-build\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$WRAPPER_GO" "$ver"
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$lib"; done
    printf ')\n'
  } >"$src/go.mod"
  local major minor date commit=unknown
  major=${ver#v}; major=${major%%.*}
  minor=${ver#v*.}; minor=${minor%%.*}
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$ver -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit=$commit -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  rm -rf "$out"
  mkdir -p "$out"
  # One invocation for all four binaries, so shared packages compile once.
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl)
  mark_built kubernetes "$ver"
}

build_etcd() {
  local out src ver="$ETCD_VERSION"
  out=$(tool_dir etcd "$ver")
  src=$(new_wrapper etcd "$ver")
  # The etcd main package is the root package of go.etcd.io/etcd/server/v3.
  printf 'module flux-capsule.local/etcd-build\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$WRAPPER_GO" "$ver" >"$src/go.mod"
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$src" && go build -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ver" \
    -o "$out/etcd" go.etcd.io/etcd/server/v3)
  mark_built etcd "$ver"
}

build_kwok() {
  local out src ver="$KWOK_VERSION"
  out=$(tool_dir kwok "$ver")
  src=$(new_wrapper kwok "$ver")
  printf 'module flux-capsule.local/kwok-build\n\ngo %s\n\nrequire sigs.k8s.io/kwok %s\n' \
    "$WRAPPER_GO" "$ver" >"$src/go.mod"
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$src" && go build -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${ver#v}" \
    -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok)
  # The standalone kwok binary has no built-in behaviour: it needs Stage
  # objects. Ship the release's own "fast" stages next to the binary (the set
  # kwokctl uses): nodes become Ready (heartbeats via leases), pods Running.
  local mod stage
  mod=$(cd "$src" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  mkdir -p "$out/stages"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    install -m 0644 "$mod/kustomize/stage/$stage.yaml" "$out/stages/"
  done
  mark_built kwok "$ver"
}

# ensure TOOL VERSION BUILDER -> builds unless cached; prints the tool dir.
ensure() {
  if [ "${KUBE_BUILD_FORCE:-0}" != 1 ] && have_tool "$1" "$2"; then
    log "$1 $2: cached"
  else
    log "$1 $2: building"
    timed "$1 $2 build" "$3"
  fi
  tool_dir "$1" "$2"
  echo
}

main() {
  local start
  start=$(date +%s)
  ensure etcd "$ETCD_VERSION" build_etcd
  ensure kwok "$KWOK_VERSION" build_kwok
  ensure kubernetes "$KUBE_VERSION" build_kube
  log "kube toolchain ready: $(($(date +%s) - start))s"
}

main "$@"; exit $?
