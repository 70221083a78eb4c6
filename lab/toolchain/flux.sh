#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from their Go
# modules, for running them as local processes against the lab cluster
# (lab/controllers/up.sh). Each tool dir also gets the controller's CRDs, taken
# from the same module: crds/*.yaml and one concatenated crds.yaml.
#
# Usage:
#   lab/toolchain/flux.sh          -> prints one tool dir per line (binary inside)
#   lab/toolchain/flux.sh --crds   -> prints the CRD dirs instead (building first when needed)
# Set FLUX_BUILD_FORCE=1 to rebuild even when a stamped build is cached.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Flux distribution the controllers belong to: flux2 v2.9.5's go.mod pins both APIs below.
FLUX_VERSION=v2.9.5
# source-controller of Flux v2.9.5 (go.mod says go 1.26.0; v1.10.x needs Go 1.27).
SOURCE_CONTROLLER_VERSION=v1.9.5
# kustomize-controller of Flux v2.9.5 (go.mod says go 1.26.0; v1.10.x needs Go 1.27).
KUSTOMIZE_CONTROLLER_VERSION=v1.9.5
# Language version written into the throwaway wrapper modules.
WRAPPER_GO=1.26.0
# Dependencies whose pinned zip the module proxy here refuses (403), swapped for
# the nearest served release: artifact v0.18.3's go.mod differs from v0.18.1's only in
# dependency patch bumps (same minor; the build and lab/controllers/prove.sh pass). Comma-separated "MODULE VERSION".
SOURCE_CONTROLLER_SUBSTITUTES="github.com/fluxcd/pkg/artifact v0.18.1"
KUSTOMIZE_CONTROLLER_SUBSTITUTES=""

# Never switch to another Go toolchain behind our back: fail instead.
export GOTOOLCHAIN=local

wrapper_dir() { printf '%s/src/%s-%s' "$FLUX_CAPSULE_CACHE" "$1" "$2"; }

# module_dir MODULE VERSION -> the module's extracted source in GOMODCACHE (downloads it).
module_dir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# replace_lines MODDIR VERSION -> the target's own replace directives, as lines
# for the wrapper's replace block. Replaces are honoured only in the main
# module, so the wrapper repeats them; a local path (the ./api submodule) is
# pinned to that submodule's release of the same tag instead.
replace_lines() {
  local dir=$1 ver=$2 path=$3
  # shellcheck disable=SC2016  # JavaScript template literals, not shell
  (cd "$dir" && go mod edit -json) | node -e '
    const [ver, root] = process.argv.slice(1);
    const mod = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of mod.Replace || []) {
      const old = r.Old.Path + (r.Old.Version ? " " + r.Old.Version : "");
      if (r.New.Version) console.log(`\t${old} => ${r.New.Path} ${r.New.Version}`);
      else if (r.New.Path.startsWith("./")) {
        const sub = root + "/" + r.New.Path.slice(2);
        if (sub !== r.Old.Path) throw new Error(`unexpected local replace ${r.Old.Path} => ${r.New.Path}`);
        console.log(`\t${old} => ${r.Old.Path} ${ver}`);
      } else throw new Error(`unsupported replace of ${r.Old.Path}`);
    }' "$ver" "$path"
}

# build_controller NAME VERSION "MODULE VERSION"... -> builds
# github.com/fluxcd/NAME@VERSION into its tool dir; each further argument
# replaces one dependency.
build_controller() {
  local name=$1 ver=$2 mod="github.com/fluxcd/$1" out src dir sub
  shift 2
  out=$(tool_dir "$name" "$ver")
  src=$(wrapper_dir "$name" "$ver")
  dir=$(module_dir "$mod" "$ver")
  [ -d "$dir" ] || { log "cannot fetch $mod@$ver"; return 1; }
  rm -rf "$src" "$out"
  mkdir -p "$src" "$out/crds"
  {
    printf 'module flux-capsule.local/%s-build\n\ngo %s\n\nrequire %s %s\n\nreplace (\n' "$name" "$WRAPPER_GO" "$mod" "$ver"
    replace_lines "$dir" "$ver" "$mod"
    local m v
    for sub in "$@"; do
      read -r m v <<<"$sub"
      printf '\t%s => %s %s\n' "$m" "$m" "$v"
    done
    printf ')\n'
  } >"$src/go.mod"
  log "$name wrapper go.mod:"
  sed 's/^/    /' "$src/go.mod" >&2
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out/$name" "$mod")
  install -m 0644 "$dir"/config/crd/bases/*.yaml "$out/crds/"
  local f
  for f in "$out"/crds/*.yaml; do
    [ "$(head -n1 "$f")" = --- ] || printf -- '---\n'
    cat "$f"
  done >"$out/crds.yaml"
  mark_built "$name" "$ver"
}

# ensure NAME VERSION SUBSTITUTES -> builds unless cached.
ensure() {
  if [ "${FLUX_BUILD_FORCE:-0}" != 1 ] && have_tool "$1" "$2"; then
    log "$1 $2: cached"
  else
    log "$1 $2: building (Flux $FLUX_VERSION)"
    local subs=()
    [ -z "$3" ] || IFS=, read -ra subs <<<"$3"
    timed "$1 $2 build" build_controller "$1" "$2" "${subs[@]}"
  fi
}

main() {
  local what=bin
  case "${1:-}" in
    "") ;;
    --crds) what=crds ;;
    *) echo "usage: $0 [--crds]" >&2; return 2 ;;
  esac
  ensure source-controller "$SOURCE_CONTROLLER_VERSION" "$SOURCE_CONTROLLER_SUBSTITUTES"
  ensure kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION" "$KUSTOMIZE_CONTROLLER_SUBSTITUTES"
  local d
  for d in "$(tool_dir source-controller "$SOURCE_CONTROLLER_VERSION")" \
    "$(tool_dir kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION")"; do
    if [ "$what" = crds ]; then echo "$d/crds"; else echo "$d"; fi
  done
}

main "$@"; exit $?
