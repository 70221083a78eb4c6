#!/usr/bin/env bash
# Builds the Pulumi YAML language host (pulumi-language-yaml) from the Go
# module in go/language-yaml/ (its go.mod says why these versions) into
#   $FLUX_CAPSULE_CACHE/tools/pulumi-language-yaml/<key>/
# keyed on a hash of that module's files, and prints that directory for PATH
# (the engine finds language hosts on PATH). A warm run rebuilds nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

module="$here/go/language-yaml"
key=$(cat "$module"/go.mod "$module"/go.sum "$module"/*.go | sha256sum | cut -c1-10)
dir=$(tool_dir pulumi-language-yaml "$key")
if have_tool pulumi-language-yaml "$key"; then
  log "pulumi-language-yaml $key: cached"
else
  rm -rf "$dir" && mkdir -p "$dir"
  # Built in place: go.mod and go.sum pin every version, so nothing is written back.
  timed "pulumi-language-yaml $key" bash -c 'cd "$1" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$2/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml' _ "$module" "$dir"
  mark_built pulumi-language-yaml "$key"
fi
echo "$dir"
