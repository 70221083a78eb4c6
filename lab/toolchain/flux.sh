#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from the modules
# go/source-controller and go/kustomize-controller (go/README.md: the pins),
# for running them as local processes against the lab cluster
# (lab/controllers/up.sh). Each tool dir also gets the controller's CRDs, taken
# from the same module: crds/*.yaml and one concatenated crds.yaml.
#
# Usage:
#   lab/toolchain/flux.sh          -> prints one tool dir per line (binary inside)
#   lab/toolchain/flux.sh --crds   -> prints the CRD dirs instead (building first when needed)
# TOOLCHAIN_FORCE=1 rebuilds even when a stamped build is cached.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  "") suffix= ;;
  --crds) suffix=/crds ;;
  *) echo "usage: $0 [--crds]" >&2; exit 2 ;;
esac

# build_controller OUT WORK NAME: github.com/fluxcd/NAME from the module go/NAME.
build_controller() {
  local out=$1 name=$3 mod=github.com/fluxcd/$3
  cd "$2/$name"
  go build -ldflags "-s -w" -o "$out/$name" "$mod"
  install_crds "$(module_src "$name" "$mod")/config/crd/bases" "$out"
}

for name in source-controller kustomize-controller; do
  d=$(go_tool "$name" "$(modver "$name" "github.com/fluxcd/$name")" build_controller "$name" -- "$name")
  echo "$d$suffix"
done
