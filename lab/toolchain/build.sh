#!/usr/bin/env bash
# Builds the project's pinned tools from Go modules (zizmor: its PyPI wheel)
# into ~/.cache/flux-capsule (override with FLUX_CAPSULE_CACHE) and prints a
# PATH line for them. The Go modules are ours, under go/ (go/README.md).
#
#   bash lab/toolchain/build.sh unit   the Go modules' checks (check.sh), actionlint, zizmor (for `npm test`)
#   bash lab/toolchain/build.sh lab    + pulumi, its providers, Kubernetes, etcd, kwok
#   bash lab/toolchain/build.sh all    + the Flux controllers and Capsule, Flux releases' install.yaml
#                                      (flux-release.sh) and the flux CLI (what CI builds cold)
#
# Measure a cold build with an empty cache of its own:
#   FLUX_CAPSULE_CACHE=$(mktemp -d) bash lab/toolchain/build.sh all
#
# Each tool is built once per key (its module's hash); a warm run only hashes
# and checks stamps.
# Output: `export PATH=<dirs>:$PATH` on stdout; progress and timings on stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"

group=${1:-unit}
case "$group" in
  unit) scripts=(check actionlint zizmor) ;;
  lab) scripts=(check actionlint zizmor pulumi kube) ;;
  all) scripts=(check actionlint zizmor pulumi kube flux capsule flux-release flux-cli) ;;
  *) echo "usage: $0 unit|lab|all" >&2; exit 2 ;;
esac

start=$(date +%s)
dirs=()
for s in "${scripts[@]}"; do
  t0=$(date +%s)
  out=$(bash "$here/$s.sh") # a failing stage fails the build
  while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done <<<"$out"
  log "stage $s: $(( $(date +%s) - t0 ))s"
done
log "toolchain ($group): $(( $(date +%s) - start ))s"
joined=$(IFS=:; echo "${dirs[*]}")
echo "export PATH=$joined:\$PATH"
