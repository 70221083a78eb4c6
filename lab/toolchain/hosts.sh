#!/usr/bin/env bash
# Builds the language hosts the lab adds to the Pulumi CLI, each from its Go
# module under go/ (their go.mod files say why these versions), into
#   $FLUX_CAPSULE_CACHE/tools/<host>/<key>/
# keyed on a hash of the module's files, and prints each directory for PATH
# (the engine finds language hosts on PATH). A module with tests is vetted and
# tested before it is built, so a cached binary is always a tested one. A warm
# run rebuilds nothing.
#   pulumi-language-yaml     the upstream host (pulumi-yaml module)
#   pulumi-language-python   ours: the upstream module is refused by the proxy
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

# build_host NAME MODULE_DIR PACKAGE [LDFLAGS]
build_host() {
  local name=$1 module=$2 package=$3 ldflags=${4:-}
  local key dir
  key=$( (cd "$module" && find . -type f | LC_ALL=C sort | xargs sha256sum; echo "$ldflags") | sha256sum | cut -c1-10)
  dir=$(tool_dir "$name" "$key")
  if have_tool "$name" "$key"; then
    log "$name $key: cached"
  else
    rm -rf "$dir" && mkdir -p "$dir"
    # Built in place: go.mod and go.sum pin every version, so nothing is written back.
    (
      cd "$module"
      export GOFLAGS=-mod=readonly
      if compgen -G '*_test.go' >/dev/null; then
        timed "$name $key: vet and test" bash -c 'test -z "$(gofmt -l .)" || { gofmt -l .; echo "gofmt: the files above are not formatted" >&2; exit 1; }; go vet ./... && go test ./...'
      fi
      timed "$name $key" go build -trimpath -ldflags "-s -w $ldflags" -o "$dir/$name" "$package"
    )
    mark_built "$name" "$key"
  fi
  echo "$dir"
}

build_host pulumi-language-yaml "$here/go/language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
# It reports the CLI's version: the engine wants a semantic version from every plugin.
build_host pulumi-language-python "$here/go/language-python" . "-X main.Version=3.248.0"
