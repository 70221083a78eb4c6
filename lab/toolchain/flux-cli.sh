#!/usr/bin/env bash
# Builds the flux CLI (cmd/flux of github.com/fluxcd/flux2/v2 at the version
# go/flux pins) as a tool of go/flux, so on that module's build list: the one
# the Flux controllers' build group shares (lib.sh's GO_GROUPS), so the CLI
# compiles only the packages the controllers do not. cmd/flux embeds
# manifests/*.yaml, which a release generates with manifests/scripts/bundle.sh
# and the module zip lacks (and Go refuses an -overlay inside GOMODCACHE): the
# build copies the module source (checked against go/flux's go.sum), adds the
# manifests flux-release.sh bundled for that version, points the scratch copy
# of go/flux at it with a replace line (same go.mod, so the same build list),
# and stamps the binary as the release's goreleaser does (-X main.VERSION).
#
#   lab/toolchain/flux-cli.sh   -> prints the tool dir (binary "flux" inside)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

FLUX2=github.com/fluxcd/flux2/v2
FLUX_VERSION=$(modver flux "$FLUX2")

# build_flux OUT WORK RELEASE_DIR
build_flux() {
  local out=$1 src=$2/flux2
  cp -R "$(module_src flux "$FLUX2")" "$src" && chmod -R u+w "$src"
  mkdir -p "$src/cmd/flux/manifests"
  cp "$3"/manifests/*.yaml "$src/cmd/flux/manifests/"
  cd "$2/flux"
  go mod edit -replace "$FLUX2=../flux2" # the scratch copy's go.mod only
  go build -ldflags "-s -w -X main.VERSION=${FLUX_VERSION#v}" -o "$out/flux" tool
  "$out/flux" version --client
}

release=$(bash "$here/flux-release.sh" --dir "$FLUX_VERSION")
go_tool flux "$FLUX_VERSION" build_flux flux -- "$release"
