#!/usr/bin/env bash
# Builds the Pulumi engine (CLI) with the language hosts beside it, and
# the resource providers that the project's npm packages ask for, from the Go
# modules under go/ (go/README.md: what each one is, and why its pins are what
# they are). The Go module proxy is the one source: no GitHub, no release
# downloads.
#
#   bash lab/toolchain/pulumi.sh
#
# builds whatever is missing, logs each stage's time on stderr, and prints one
# line per tool directory on stdout, for PATH. A warm run rebuilds nothing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

# What each plugin reports: the version that its npm package asks for
# ("pulumi.version" of node_modules/@pulumi/<name>/package.json), so that
# `pulumi about` and the state show the versions the project pins (the engine
# takes a plugin from $PATH whatever its version; it only warns when it is
# older than the one asked for, and warns "using pulumi-resource-X from $PATH"
# on every run: that is how it treats ambient plugins).
K8S_PLUGIN_VERSION=4.34.2
TLS_PLUGIN_VERSION=5.6.1
GITHUB_PLUGIN_VERSION=6.15.0
# The engine's: pkg/v3 as go/pulumi requires it, the npm SDK's version.
PULUMI_VERSION=$(modver pulumi github.com/pulumi/pulumi/pkg/v3)

LDFLAGS="-s -w"

# Warn when the npm packages ask for other versions than the pins here.
check_npm_pins() {
  local nm="$HERE/../../node_modules/@pulumi" p want got
  [ -d "$nm" ] || return 0
  for p in "pulumi:$PULUMI_VERSION" "kubernetes:$K8S_PLUGIN_VERSION" "tls:$TLS_PLUGIN_VERSION" \
    "github:$GITHUB_PLUGIN_VERSION"; do
    want=${p#*:}
    want=${want#v}
    [ -f "$nm/${p%%:*}/package.json" ] || continue
    got=$(node -e 'const p=require(process.argv[1]); console.log((p.pulumi&&p.pulumi.version)||p.version)' \
      "$nm/${p%%:*}/package.json" 2>/dev/null || true)
    if [ -n "$got" ] && [ "$got" != "$want" ]; then
      log "warning: node_modules/@pulumi/${p%%:*} asks for $got, the toolchain builds $want"
    fi
  done
}

# The CLI, and every language host module given (pulumi-language-*) next to
# it: the engine looks for bundled language hosts beside `pulumi` (and then
# doesn't warn that one came from $PATH). A host is the module's own main
# package, or its `tool` lines for one built from a module of upstream's; ours
# reports the version of the SDK it is built on. Our two hosts require langhost
# (what they share) with a replace line ../langhost: go_tool is given its
# module dir too, so it is copied beside them and its hash is in the key.
build_pulumi() {
  local out=$1 work=$2 host sdk pkgs
  (cd "$work/pulumi" && go build -o "$out/pulumi" \
    -ldflags "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  for host in "$work"/pulumi-language-*; do
    sdk=$(modver "${host##*/}" github.com/pulumi/pulumi/sdk/v3)
    pkgs=.
    if grep -q '^tool' "$host/go.mod"; then pkgs=tool; fi
    (cd "$host" && go build -o "$out/" -ldflags "$LDFLAGS -X main.Version=${sdk#v}" "$pkgs")
  done
}

# provider/v4's main package embeds schema-embed.json and
# terraform-mapping-embed.json, which its generate.go makes from the
# schema.json and terraform-mapping.json that the module zip holds: copy them
# out of the module and run that same generator here.
build_kubernetes() {
  local out=$1 work=$2/pulumi-resource-kubernetes src cmd
  src=$(module_src pulumi-resource-kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4)
  cmd="$work/cmd/pulumi-resource-kubernetes"
  mkdir -p "$cmd"
  cp "$src/cmd/pulumi-resource-kubernetes/"{main.go,generate.go,schema.json,terraform-mapping.json} "$cmd/"
  chmod -R u+w "$cmd"
  (cd "$cmd" && VERSION=$K8S_PLUGIN_VERSION go run generate.go)
  (cd "$work" && go build -o "$out/" \
    -ldflags "$LDFLAGS -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PLUGIN_VERSION" \
    ./cmd/pulumi-resource-kubernetes)
}

# build_bridged NAME VERSION OUT WORK: tfgen's "schema" command writes the
# schema.json and bridge-metadata.json that the plugin embeds.
build_bridged() {
  local name=$1 version=$2 out=$3 work=$4/pulumi-resource-$1 ldflags
  ldflags="$LDFLAGS -X fluxcapsule.local/pulumi-resource-$name/info.Version=$version"
  cd "$work"
  go build -ldflags "$ldflags" -o "$work/bin/" "./cmd/pulumi-tfgen-$name"
  "$work/bin/pulumi-tfgen-$name" schema --out "cmd/pulumi-resource-$name"
  go build -ldflags "$ldflags" -o "$out/" "./cmd/pulumi-resource-$name"
}
build_tls() {
  build_bridged tls "$TLS_PLUGIN_VERSION" "$@"
  go vet github.com/hashicorp/terraform-provider-tls/shim # the nested module of ours
}
build_github() { build_bridged github "$GITHUB_PLUGIN_VERSION" "$@"; }

check_npm_pins
# Further language hosts (a module dir each) go into this list.
go_tool pulumi "$PULUMI_VERSION" build_pulumi pulumi pulumi-language-nodejs pulumi-language-python pulumi-language-yaml \
  langhost
# The providers (a build group) compile without inlining (GO_NOINLINE in lib.sh).
go_tool pulumi-resource-kubernetes "$K8S_PLUGIN_VERSION" build_kubernetes pulumi-resource-kubernetes
go_tool pulumi-resource-tls "$TLS_PLUGIN_VERSION" build_tls pulumi-resource-tls
go_tool pulumi-resource-github "$GITHUB_PLUGIN_VERSION" build_github pulumi-resource-github
