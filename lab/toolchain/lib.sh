#!/usr/bin/env bash
# Shared helpers for the toolchain build scripts. Source it; do not run it.
#
# Every Go tool is a module of ours under go/ (go/README.md says why each pin
# is what it is). go_tool builds one into
#   $FLUX_CAPSULE_CACHE/tools/<tool>/<label>-<key>/
# where key hashes the module directories (their go.mod, go.sum and sources)
# and the pins the script gives; a stamp file marks a finished build, so a
# warm run only hashes and checks stamps, and an interrupted build is redone.

set -euo pipefail

: "${FLUX_CAPSULE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/flux-capsule}"
export FLUX_CAPSULE_CACHE
export GOMODCACHE="$FLUX_CAPSULE_CACHE/go/mod"
export GOCACHE="$FLUX_CAPSULE_CACHE/go/build"
export GOPATH="$FLUX_CAPSULE_CACHE/go/path"
# How every package is compiled (go/README.md, "Compile flags"): without DWARF
# (-dwarf=false: every binary is linked -s -w, which drops it anyway) and with
# one backend thread per compile (-c=1: go build already runs two compiles at
# once, and build.sh two lanes). Neither changes the code the tools run. A
# cold build of k8s.io/client-go/kubernetes, CPU seconds: 108 before, 95
# -dwarf=false, 89 -dwarf=false -c=1; with -l as well (GO_NOINLINE) 68.
GO_GCFLAGS="-dwarf=false -c=1"
# go.mod and go.sum are checked in: a build never edits them. -trimpath and the
# compile flags for vet and test too, so that they share compiled packages
# with the builds. (Go splits GOFLAGS with shell-like quoting; a -gcflags of
# the caller's is overridden.) The caller's own GOFLAGS are kept once: every
# script that build.sh runs sources this file again, and go_tool's keys
# include GOFLAGS, so it must read the same at any depth.
: "${FLUX_CAPSULE_CALLER_GOFLAGS=${GOFLAGS:-}}"
export FLUX_CAPSULE_CALLER_GOFLAGS
export GOFLAGS="${FLUX_CAPSULE_CALLER_GOFLAGS:+$FLUX_CAPSULE_CALLER_GOFLAGS }-mod=readonly -trimpath '-gcflags=all=$GO_GCFLAGS'"
# Each module is built on its own (they pin different versions on purpose).
export GOWORK=off
# The one Go language version of every go.mod under go/ (check.sh holds them
# to it), and the oldest Go that builds them: never switch toolchains behind
# our back, fail instead.
GO_VERSION=1.26.4
export GOTOOLCHAIN=local
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
export GOSUMDB="${GOSUMDB:-sum.golang.org}"
export CGO_ENABLED="${CGO_ENABLED:-0}"
# The compiler and linker collect garbage less often: a cold build of
# k8s.io/client-go/kubernetes (an older one, on a loaded machine, before the
# figures above) took 124 s instead of 148 s (GOGC=100), peak
# RSS 625 MB instead of 458 MB. It changes no output, so no cache key.
export GOGC="${GOGC:-400}"
# The build is module-proxy only: a fallback to "direct" would hang on hosts
# this network cannot reach.
export GOPROXY="${GOPROXY%%,direct}"

GO_MODULES=$(cd "$(dirname "${BASH_SOURCE[0]}")/go" && pwd)
# Build groups: the modules of a group share one build list (align.sh), so a
# dependency package compiles once for all of them. Two for Pulumi: the engine
# and the providers cannot share a pkg version (go/README.md). langhost, the
# library that our two language hosts share, is in their group. The cluster
# (Kubernetes, etcd, kwok), the Flux controllers, the flux CLI and Capsule
# share one set of Kubernetes libraries. The Flux v2.7.3 controllers (the
# upgrade scenario's "before") are a group of their own: the controllers'
# group would raise their libraries past the release.
# shellcheck disable=SC2034 # read by check.sh and align.sh
GO_GROUPS=(
  "pulumi pulumi-language-nodejs pulumi-language-python langhost"
  "pulumi-resource-kubernetes pulumi-resource-tls pulumi-resource-github"
  "kubernetes etcd kwok source-controller kustomize-controller capsule flux"
  "source-controller-v1.7 kustomize-controller-v1.7"
)

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The build groups that compile without inlining as well (-l), named by their
# modules (a group's flags must be the same for all its members, as it shares
# compiled packages): the providers, whose run time is spent waiting on the
# API server and GitHub, and Flux v2.7.3's controllers, which run for the
# upgrade scenario's first minutes. Not the engine, the API server or the
# controllers the suites wait on: built -l, the engine suite took 10 % longer
# (go/README.md, "Compile flags"). go_tool applies it by the first MODULE_DIR.
GO_NOINLINE=(pulumi-resource-kubernetes pulumi-resource-tls pulumi-resource-github
  source-controller-v1.7 kustomize-controller-v1.7)

# tool_dir TOOL KEY -> the directory holding that build.
tool_dir() { printf '%s/tools/%s/%s' "$FLUX_CAPSULE_CACHE" "$1" "$2"; }

# have_tool TOOL KEY -> success when a finished build is cached.
have_tool() { [ -f "$(tool_dir "$1" "$2")/.complete" ]; }

# mark_built TOOL KEY -> records a finished build.
mark_built() { date -u +%FT%TZ >"$(tool_dir "$1" "$2")/.complete"; }

# timed LABEL CMD... -> runs CMD (in this shell, so errexit stops it at its
# first failing command) and logs how long it took, wall and CPU (user + sys
# of CMD and its children: the figure that load on the machine changes
# least). bash's own `time` prints the line, so it carries no clock time.
timed() {
  local label=$1 TIMEFORMAT
  shift
  TIMEFORMAT="[toolchain] $label: %0Rs (CPU %0Us user + %0Ss sys)"
  time "$@"
}

# modver MODULE_DIR MODULE -> the version of MODULE that go/MODULE_DIR/go.mod
# requires (read without running go, so a warm run stays fast).
modver() {
  awk -v m="$2" '($1 == "require" && $2 == m) { print $3; exit } ($1 == m && $2 ~ /^v/) { print $2; exit }' \
    "$GO_MODULES/$1/go.mod"
}

# module_key MODULE_DIR... [-- PIN...] -> a short hash of the modules' files
# and the pins (anything else the build depends on, e.g. a version to stamp).
module_key() {
  local d
  {
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
      d=$1
      shift
      (cd "$GO_MODULES" && find "$d" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    done
    [ $# -eq 0 ] || shift
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-10
}

# go_tool TOOL LABEL BUILDER MODULE_DIR... [-- PIN...]
#   Prints the tool dir tools/TOOL/LABEL-KEY (KEY: the module dirs, the Go
#   version, GOFLAGS (with -l for GO_NOINLINE), BUILDER's text and the PINs),
#   building it first unless it is cached (TOOLCHAIN_FORCE=1 rebuilds): copies
#   each MODULE_DIR into a scratch dir WORK (WORK/<name>), runs
#   `BUILDER OUT WORK PIN...` there, then vets the modules' own Go packages
#   (with what the builder generated), and stamps OUT. The scratch dir is
#   removed after a success, kept (and logged) after a failure. Build output
#   goes to stderr.
go_tool() {
  local tool=$1 label=$2 builder=$3 key out work d
  shift 3
  local mods=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do mods+=("$1"); shift; done
  [ $# -eq 0 ] || shift
  # For the builder and the vet below; the later -gcflags wins.
  local -x GOFLAGS=$GOFLAGS
  case " ${GO_NOINLINE[*]} " in *" ${mods[0]:-} "*) GOFLAGS+=" '-gcflags=all=-l $GO_GCFLAGS'" ;; esac
  # The builder's own text is a pin too: a changed recipe rebuilds.
  key="$label-$(module_key "${mods[@]}" -- "$GO_VERSION" "$GOFLAGS" "$(declare -f "$builder")" "$@")"
  out=$(tool_dir "$tool" "$key")
  if [ "${TOOLCHAIN_FORCE:-0}" != 1 ] && have_tool "$tool" "$key"; then
    log "$tool $key: cached"
  else
    log "$tool $key: building"
    work=$(mktemp -d "${TMPDIR:-/tmp}/flux-capsule-$tool.XXXXXX")
    log "$tool: work dir $work"
    for d in "${mods[@]}"; do cp -R "$GO_MODULES/$d" "$work/"; done
    rm -rf "$out"
    mkdir -p "$out"
    (cd "$work" && timed "$tool $key" "$builder" "$out" "$work" "$@") >&2
    for d in "${mods[@]}"; do # only modules with Go sources of ours
      if [ -n "$(find "$GO_MODULES/$d" -name '*.go' -print -quit)" ]; then
        (cd "$work/$d" && go vet ./...) >&2
      fi
    done
    mark_built "$tool" "$key"
    rm -rf "$work"
  fi
  printf '%s\n' "$out"
}

# install_crds SRC_DIR OUT -> SRC_DIR/*.yaml into OUT/crds/, and all of them
# concatenated as one multi-document OUT/crds.yaml.
install_crds() {
  local f
  mkdir -p "$2/crds"
  install -m 0644 "$1"/*.yaml "$2/crds/"
  for f in "$2"/crds/*.yaml; do
    [ "$(head -n1 "$f")" = --- ] || printf -- '---\n'
    cat "$f"
  done >"$2/crds.yaml"
}

# module_src MODULE_DIR MODULE -> where the module's source, at the version
# that go/MODULE_DIR requires, is in GOMODCACHE (downloading it if needed).
module_src() {
  (cd "$GO_MODULES/$1" && go mod download -json "$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}
