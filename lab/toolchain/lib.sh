#!/usr/bin/env bash
# Shared helpers for the toolchain build scripts. Source it; do not run it.
#
# Every tool is built once per version into
#   $FLUX_CAPSULE_CACHE/tools/<tool>/<version>/
# and a stamp file marks a finished build, so a warm run rebuilds nothing and an
# interrupted build is redone from scratch.

set -euo pipefail

: "${FLUX_CAPSULE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/flux-capsule}"
export FLUX_CAPSULE_CACHE
export GOMODCACHE="$FLUX_CAPSULE_CACHE/go/mod"
export GOCACHE="$FLUX_CAPSULE_CACHE/go/build"
export GOPATH="$FLUX_CAPSULE_CACHE/go/path"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOSUMDB="${GOSUMDB:-sum.golang.org}"
export CGO_ENABLED="${CGO_ENABLED:-0}"
# The build is module-proxy only: a fallback to "direct" would hang on hosts
# this network cannot reach.
export GOPROXY="${GOPROXY%%,direct}"

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# tool_dir TOOL VERSION -> the directory holding that build.
tool_dir() { printf '%s/tools/%s/%s' "$FLUX_CAPSULE_CACHE" "$1" "$2"; }

# have_tool TOOL VERSION -> success when a finished build is cached.
have_tool() { [ -f "$(tool_dir "$1" "$2")/.complete" ]; }

# mark_built TOOL VERSION -> records a finished build.
mark_built() { date -u +%FT%TZ >"$(tool_dir "$1" "$2")/.complete"; }

# timed LABEL CMD... -> runs CMD and prints how long it took.
timed() {
  local label=$1 start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  log "$label: $((end - start))s"
}
