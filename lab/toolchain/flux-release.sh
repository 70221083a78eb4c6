#!/usr/bin/env bash
# Builds the install.yaml of Flux releases as a release does, from Go modules
# (go/README.md, "flux-release"):
#   1. each controller's release assets, <c>.crds.yaml and <c>.deployment.yaml,
#      are `kustomize build config/crd` and `kustomize build config/manager` of
#      the controller's module at the version flux2's manifests/bases pin (what
#      fluxcd/gha-workflows' controller-release does); for the controllers whose
#      main module the proxy refuses, a stand-in: the CRDs generated with
#      controller-gen from the served api module, and flux-release/stand-ins/
#      (a hand-written Service and Deployment of the release's shape);
#   2. flux2's manifests/ with every release-asset URL pointed at those files
#      (flux-release/release.ts localize);
#   3. `kustomize build manifests/install` -> install.yaml (the release's
#      workflow), and each base, rbac and policies -> manifests/*.yaml
#      (manifests/scripts/bundle.sh: what the flux CLI embeds);
#   4. the package's release rules must accept install.yaml.
# Output: $FLUX_CAPSULE_CACHE/tools/flux-release/<version>-<key>/{install.yaml,
# manifests/, assets/<controller>/}, keyed and stamped like go_tool's tools.
#
#   lab/toolchain/flux-release.sh               builds every release below (prints nothing)
#   lab/toolchain/flux-release.sh --lab         builds the lab's release only (prints nothing)
#   lab/toolchain/flux-release.sh --dir VERSION prints that release's dir, building it if needed
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

FLUX2=github.com/fluxcd/flux2/v2
# The lab's release (go/flux pins it for the CLI) and an older one.
FLUX_RELEASES=("$(modver flux "$FLUX2")" v2.7.3)
# Controllers whose main module the proxy refuses: their api module instead.
declare -A API_MODULE=(
  [notification-controller]=github.com/fluxcd/notification-controller/api
  [image-reflector-controller]=github.com/fluxcd/image-reflector-controller/api
  [image-automation-controller]=github.com/fluxcd/image-automation-controller/api
  [source-watcher]=github.com/fluxcd/source-watcher/api/v2
)

# build_cmd OUT WORK NAME PKG [LDFLAGS]: a command that is a `tool` of go/NAME.
build_cmd() {
  cd "$2/$3"
  go build -ldflags "-s -w ${5:-}" -o "$1/$3" "$4"
}

release_ts() { (cd "$here/../.." && node -r ts-node/register/transpile-only "$here/flux-release/release.ts" "$@"); }

# src WORK MOD@VERSION -> the module's source dir, checked against flux2's
# go.sum when it names it (some api modules' versions are not in the checksum
# database as proxied here), else against the checksum database.
src() {
  local dl=$1/dl
  mkdir -p "$dl"
  [ -f "$dl/go.mod" ] || printf 'module scratch\n\ngo %s\n' "$GO_VERSION" >"$dl/go.mod"
  (cd "$dl" && GOFLAGS=-mod=mod go mod download -json "$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

# controller_assets WORK OUT NAME VERSION: OUT/assets/NAME/NAME.{crds,deployment}.yaml.
controller_assets() {
  local work=$1 assets=$2/assets/$3 name=$3 ver=$4 mod=github.com/fluxcd/$3 dir
  [ "${ver%%.*}" = v1 ] || mod=$mod/${ver%%.*}
  mkdir -p "$assets"
  if [ -z "${API_MODULE[$name]:-}" ]; then
    dir=$work/ctrl/$name
    mkdir -p "$dir"
    cp -R "$(src "$work" "$mod@$ver")/config" "$dir/" && chmod -R u+w "$dir"
    kustomize build "$dir/config/crd" >"$assets/$name.crds.yaml"
    kustomize build "$dir/config/manager" >"$assets/$name.deployment.yaml"
  else
    dir=$work/api/$name
    mkdir -p "$(dirname "$dir")"
    cp -R "$(src "$work" "${API_MODULE[$name]}@$ver")" "$dir" && chmod -R u+w "$dir"
    (cd "$dir" && controller-gen crd paths=./... output:crd:dir="$work/crds/$name")
    release_ts stand-in "$name" "$ver" "$work/crds/$name" "$here/flux-release/stand-ins/$name.deployment.yaml" "$assets"
  fi
}

# build_release OUT WORK VERSION KUSTOMIZE_DIR CONTROLLER_GEN_DIR
build_release() {
  local out=$1 work=$2 ver=$3 m c v
  PATH=$4:$5:$PATH
  m=$(src "$work" "$FLUX2@$ver")
  cp "$m/go.sum" "$work/dl/go.sum"
  cp -R "$m/manifests" "$work/manifests" && chmod -R u+w "$work/manifests"
  while read -r c v; do
    log "flux-release $ver: $c $v${API_MODULE[$c]:+ (stand-in)}"
    controller_assets "$work" "$out" "$c" "$v"
  done < <(release_ts pins "$work/manifests")
  release_ts localize "$work/manifests" "$out/assets"
  kustomize build "$work/manifests/install" >"$out/install.yaml"
  mkdir -p "$out/manifests"
  for c in "$work"/manifests/bases/*/; do
    kustomize build "$c" >"$out/manifests/$(basename "$c").yaml"
  done
  kustomize build "$work/manifests/rbac" >"$out/manifests/rbac.yaml"
  kustomize build "$work/manifests/policies" >"$out/manifests/policies.yaml"
  release_ts check "$out/install.yaml" "$ver"
}

kustomize=$(go_tool kustomize "$(modver kustomize sigs.k8s.io/kustomize/kustomize/v5)" build_cmd kustomize \
  -- kustomize sigs.k8s.io/kustomize/kustomize/v5)
cgen=$(go_tool controller-gen "$(modver controller-gen sigs.k8s.io/controller-tools)" build_cmd controller-gen \
  -- controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen)
# The recipe's own files are pins too: a changed step or stand-in rebuilds.
recipe=$(cd "$here" && cat flux-release.sh flux-release/release.ts flux-release/stand-ins/*.yaml | sha256sum | cut -c1-16)

release_dir() { go_tool flux-release "$1" build_release -- "$1" "$kustomize" "$cgen" "$recipe"; }

case "${1:-}" in
  "") for v in "${FLUX_RELEASES[@]}"; do release_dir "$v" >/dev/null; done ;;
  --lab) release_dir "${FLUX_RELEASES[0]}" >/dev/null ;;
  --dir) [ -n "${2:-}" ] || { echo "usage: $0 [--lab | --dir VERSION]" >&2; exit 2; }; release_dir "$2" ;;
  *) echo "usage: $0 [--lab | --dir VERSION]" >&2; exit 2 ;;
esac
