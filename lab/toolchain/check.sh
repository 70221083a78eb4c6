#!/usr/bin/env bash
# Checks the Go modules under go/: every go.mod names the one Go version of
# lib.sh, every file is gofmt-clean, and the modules with Go sources of ours
# that need no generated files pass `go vet` and their tests (the bridged
# providers' packages embed files their build generates: go_tool vets them
# when it builds them). Part of `build.sh unit`, so of `npm run setup` and CI.
# A passing check is stamped like a built tool (keyed on all of go/), so a
# warm run only hashes. Prints nothing on stdout.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Modules whose packages are vetted and tested here.
TESTED=(pulumi-language-nodejs pulumi-language-python langhost)

run_checks() {
  local bad mod
  bad=$(cd "$GO_MODULES" && { grep -L "^go $GO_VERSION\$" ./*/go.mod ./*/*/go.mod || true; })
  [ -z "$bad" ] || { log "go.mod files not at go $GO_VERSION (lib.sh): $bad"; return 1; }
  bad=$(gofmt -l "$GO_MODULES")
  [ -z "$bad" ] || { log "not gofmt-clean (run gofmt -w): $bad"; return 1; }
  local g
  for g in "${GO_GROUPS[@]}"; do # one version of each module within a group
    bad=$(cd "$GO_MODULES" && for mod in $g; do go mod edit -json "$mod/go.mod"; done |
      node -e 'const seen = {}; for (const t of require("fs").readFileSync(0, "utf8").split(/(?<=^})/m))
        if (t.trim()) for (const r of JSON.parse(t).Require || []) (seen[r.Path] ??= new Set()).add(r.Version);
        for (const [p, v] of Object.entries(seen)) if (v.size > 1) console.log(p, [...v].join(" "));')
    [ -z "$bad" ] || { log "group not aligned (run align.sh): $g: $bad"; return 1; }
  done
  for mod in "${TESTED[@]}"; do
    (cd "$GO_MODULES/$mod" && go vet ./... && go test ./...)
  done
}

all=()
for d in "$GO_MODULES"/*/; do d=${d%/}; all+=("${d##*/}"); done
key="go$GO_VERSION-$(module_key "${all[@]}")"
if have_tool go-checks "$key"; then
  log "go-checks $key: cached"
else
  timed "go-checks $key" run_checks >&2
  mkdir -p "$(tool_dir go-checks "$key")"
  mark_built go-checks "$key"
fi
