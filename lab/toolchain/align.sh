#!/usr/bin/env bash
# Aligns the modules of each build group (GO_GROUPS in lib.sh) on one build
# list: every module that two members both use gets the same version, the
# highest any member's build list selects, as if they were one module. A
# dependency package then compiles once per group instead of once per tool
# (Go's build cache keys a package on its whole dependency closure), which is
# most of a cold build's time. Members stay modules of their own (a binary
# links only what it imports).
#
#   bash lab/toolchain/align.sh    after changing a pin in a member's go.mod
#
# It edits go.mod/go.sum under go/ (tidy, so it needs the module proxy);
# check.sh fails while a group is not aligned. Not part of any build.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export GOFLAGS="-mod=mod"

# union MEMBER... -> "path version" lines: the group's one build list (MVS over
# all members' requirements and replace lines, in a scratch module).
union() {
  local tmp m edits
  tmp=$(mktemp -d)
  printf 'module fluxcapsule.local/align\n\ngo %s\n' "$GO_VERSION" >"$tmp/go.mod"
  for m in "$@"; do
    # Requirements, then replace lines (local paths made absolute).
    # shellcheck disable=SC2016 # JavaScript template literals, not shell
    mapfile -t edits < <((cd "$GO_MODULES/$m" && go mod edit -json) | node -e '
      const [dir] = process.argv.slice(1), mod = JSON.parse(require("fs").readFileSync(0, "utf8"));
      for (const r of mod.Require || []) console.log(`-require=${r.Path}@${r.Version}`);
      for (const r of mod.Replace || []) {
        const to = r.New.Version ? `${r.New.Path}@${r.New.Version}` : require("path").resolve(dir, r.New.Path);
        console.log(`-replace=${r.Old.Path}${r.Old.Version ? "@" + r.Old.Version : ""}=${to}`);
      }' "$GO_MODULES/$m")
    go mod edit "${edits[@]}" "$tmp/go.mod"
    cat "$GO_MODULES/$m/go.sum" >>"$tmp/go.sum"
  done
  (cd "$tmp" && go list -m -f '{{if not .Main}}{{.Path}} {{.Version}}{{end}}' all)
  rm -rf "$tmp"
}

# align_group MEMBER...: raise each member's requirements (those in its go.mod:
# the modules that provide its packages) to the union's versions and tidy it,
# until no member changes.
align_group() {
  local changed=1 m path ver want edits list
  while [ "$changed" = 1 ]; do
    changed=0
    declare -A u=()
    list=$(union "$@")
    while read -r path ver; do [ -n "$path" ] && u[$path]=$ver; done <<<"$list"
    for m in "$@"; do
      edits=()
      while read -r path ver; do
        want=${u[$path]:-}
        [ -z "$want" ] || [ "$want" = "$ver" ] || edits+=("-require=$path@$want")
      done < <(cd "$GO_MODULES/$m" && go list -m -f '{{if not .Main}}{{.Path}} {{.Version}}{{end}}' all |
        grep -Ff <(go mod edit -json | node -e 'for (const r of JSON.parse(require("fs").readFileSync(0, "utf8")).Require || []) console.log(r.Path + " ")'))
      [ ${#edits[@]} -gt 0 ] || continue
      log "$m: ${#edits[@]} requirements raised to the group's versions"
      (cd "$GO_MODULES/$m" && go mod edit "${edits[@]}" && go mod tidy -e >/dev/null 2>&1)
      changed=1
    done
    unset u
  done
}

for g in "${GO_GROUPS[@]}"; do
  read -ra members <<<"$g"
  log "aligning: ${members[*]}"
  align_group "${members[@]}"
done
