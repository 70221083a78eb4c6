#!/usr/bin/env bash
# Builds the Capsule controller (multi-tenancy operator) from its Go module,
# for running it as a local process against the lab cluster
# (lab/controllers/up.sh). The tool dir also gets Capsule's CRDs, taken from
# the module's Helm chart (charts/capsule/crds): crds/*.yaml and crds.yaml.
#
# Usage:
#   lab/toolchain/capsule.sh          -> prints the tool dir (binary "capsule" inside)
#   lab/toolchain/capsule.sh --crds   -> prints the CRD dir instead (building first when needed)
# Set CAPSULE_BUILD_FORCE=1 to rebuild even when a stamped build is cached.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Capsule release matching chart 0.14.0 (components/capsule); newest the module proxy serves, go.mod says go 1.26.4.
CAPSULE_VERSION=v0.14.0
# Language version written into the throwaway wrapper module.
WRAPPER_GO=1.26.4

# Never switch to another Go toolchain behind our back: fail instead.
export GOTOOLCHAIN=local

build_capsule() {
  local ver=$CAPSULE_VERSION mod=github.com/projectcapsule/capsule out src dir
  out=$(tool_dir capsule "$ver")
  src=$FLUX_CAPSULE_CACHE/src/capsule-$ver
  local info commit
  info=$(go mod download -json "$mod@$ver")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  # The tag's commit, as the proxy recorded it (shown in Capsule's start-up log).
  commit=$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)".*$/\1/p' <<<"$info" | head -n1)
  [ -d "$dir" ] || { log "cannot fetch $mod@$ver"; return 1; }
  # Its go.mod has no replace directives, so requiring it is enough.
  if (cd "$dir" && go mod edit -json) | grep -q '"Replace": \['; then
    log "$mod@$ver has replace directives: the wrapper would need them"
    return 1
  fi
  rm -rf "$src" "$out"
  mkdir -p "$src" "$out/crds"
  printf 'module flux-capsule.local/capsule-build\n\ngo %s\n\nrequire %s %s\n' "$WRAPPER_GO" "$mod" "$ver" >"$src/go.mod"
  local v=$mod/internal/version
  (cd "$src" && go build -trimpath \
    -ldflags "-s -w -X $v.Version=$ver -X $v.GitTag=$ver -X $v.GitCommit=$commit -X $v.GitDirty= -X $v.GitRepo=$mod -X $v.BuildTime=$(date -u +%FT%TZ)" \
    -o "$out/capsule" "$mod/cmd/controller")
  # The chart's crds/ also holds *.patch Helm templates (conversion webhook
  # wiring); only the plain CRDs are copied, lab/controllers/up.sh wires
  # conversion itself.
  install -m 0644 "$dir"/charts/capsule/crds/*.yaml "$out/crds/"
  local f
  for f in "$out"/crds/*.yaml; do
    [ "$(head -n1 "$f")" = --- ] || printf -- '---\n'
    cat "$f"
  done >"$out/crds.yaml"
  mark_built capsule "$ver"
}

main() {
  local what=bin
  case "${1:-}" in
    "") ;;
    --crds) what=crds ;;
    *) echo "usage: $0 [--crds]" >&2; return 2 ;;
  esac
  if [ "${CAPSULE_BUILD_FORCE:-0}" != 1 ] && have_tool capsule "$CAPSULE_VERSION"; then
    log "capsule $CAPSULE_VERSION: cached"
  else
    log "capsule $CAPSULE_VERSION: building"
    timed "capsule $CAPSULE_VERSION build" build_capsule
  fi
  local d
  d=$(tool_dir capsule "$CAPSULE_VERSION")
  if [ "$what" = crds ]; then echo "$d/crds"; else echo "$d"; fi
}

main "$@"; exit $?
