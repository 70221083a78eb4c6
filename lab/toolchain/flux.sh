#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller, for running them as
# local processes against the lab cluster (lab/controllers/up.sh), in two
# versions (go/README.md: the pins):
#   - those of the lab's Flux release, v2.9.5: go/source-controller and
#     go/kustomize-controller (v1.9.5 both);
#   - those of the older release that flux-release.sh also builds, v2.7.3, for
#     the upgrade scenario (v2.7.3 -> v2.9.5): go/source-controller-v1.7 and
#     go/kustomize-controller-v1.7 (v1.7.3 and v1.7.2, the image tags of its
#     install.yaml).
# Each goes to tools/<controller>/<tag>-<key>/, so lab/controllers/runner.ts
# runs the binary whose tag the applied Deployment's image names. Each tool
# dir also gets the controller's CRDs, taken from the same module: crds/*.yaml
# and one concatenated crds.yaml.
#
# Usage:
#   lab/toolchain/flux.sh          -> prints one tool dir per line (binary inside), every
#                                     version, the lab release's two first
#   lab/toolchain/flux.sh --crds   -> prints the CRD dirs of the lab's release only (the
#                                     newest CRDs, which the lab applies), building first when needed
# TOOLCHAIN_FORCE=1 rebuilds even when a stamped build is cached.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# "<controller> <module dir under go/>", the lab's release first (its CRDs
# are the ones --crds prints), then Flux v2.7.3's.
LAB_CONTROLLERS=(
  "source-controller source-controller"
  "kustomize-controller kustomize-controller"
)
OLD_CONTROLLERS=(
  "source-controller source-controller-v1.7"
  "kustomize-controller kustomize-controller-v1.7"
)

case "${1:-}" in
  "") controllers=("${LAB_CONTROLLERS[@]}" "${OLD_CONTROLLERS[@]}") suffix= ;;
  --crds) controllers=("${LAB_CONTROLLERS[@]}") suffix=/crds ;;
  *) echo "usage: $0 [--crds]" >&2; exit 2 ;;
esac

# build_controller OUT WORK NAME DIR: github.com/fluxcd/NAME from the module go/DIR.
build_controller() {
  local out=$1 name=$3 dir=$4 mod=github.com/fluxcd/$3
  cd "$2/$dir"
  go build -ldflags "-s -w" -o "$out/$name" "$mod"
  install_crds "$(module_src "$dir" "$mod")/config/crd/bases" "$out"
}

# Flux v2.7.3's controllers compile without inlining (GO_NOINLINE in lib.sh).
for c in "${controllers[@]}"; do
  read -r name dir <<<"$c"
  d=$(go_tool "$name" "$(modver "$dir" "github.com/fluxcd/$name")" build_controller "$dir" -- "$name" "$dir")
  echo "$d$suffix"
done
