#!/usr/bin/env bash
# Builds the Capsule controller (multi-tenancy operator) from the module
# go/capsule (go/README.md: the pin), for running it as a local process
# against the lab cluster (lab/controllers/up.sh). The tool dir also gets
# Capsule's CRDs, taken from the module's Helm chart (charts/capsule/crds):
# crds/*.yaml and crds.yaml.
#
# Usage:
#   lab/toolchain/capsule.sh          -> prints the tool dir (binary "capsule" inside)
#   lab/toolchain/capsule.sh --crds   -> prints the CRD dir instead (building first when needed)
#   lab/toolchain/capsule.sh --chart  -> prints the Helm chart dir in the module's source (read-only;
#                                        lab/client/capsule.ts stages it as the release workflow would)
# TOOLCHAIN_FORCE=1 rebuilds even when a stamped build is cached.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MOD=github.com/projectcapsule/capsule
CAPSULE_VERSION=$(modver capsule "$MOD")

case "${1:-}" in
  "") suffix= ;;
  --crds) suffix=/crds ;;
  --chart)
    printf '%s/charts/capsule\n' "$(module_src capsule "$MOD")"
    exit 0
    ;;
  *) echo "usage: $0 [--crds|--chart]" >&2; exit 2 ;;
esac

build_capsule() {
  local out=$1 ver=$CAPSULE_VERSION info dir commit v=$MOD/internal/version
  cd "$2/capsule"
  info=$(go mod download -json "$MOD")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  # The tag's commit, as the proxy recorded it (shown in Capsule's start-up log).
  commit=$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)".*$/\1/p' <<<"$info" | head -n1)
  go build -o "$out/capsule" \
    -ldflags "-s -w -X $v.Version=$ver -X $v.GitTag=$ver -X $v.GitCommit=$commit -X $v.GitDirty= -X $v.GitRepo=$MOD -X $v.BuildTime=$(date -u +%FT%TZ)" \
    "$MOD/cmd/controller"
  # The chart's crds/ also holds *.patch Helm templates (conversion webhook
  # wiring); only the plain CRDs are copied: the lab runs no conversion
  # webhook and speaks v1beta2 (the storage version) only.
  install_crds "$dir/charts/capsule/crds" "$out"
}

d=$(go_tool capsule "$CAPSULE_VERSION" build_capsule capsule)
echo "$d$suffix"
