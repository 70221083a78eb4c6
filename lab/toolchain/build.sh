#!/usr/bin/env bash
# Builds the project's pinned tools from Go modules (zizmor: its PyPI wheel)
# into ~/.cache/flux-capsule (override with FLUX_CAPSULE_CACHE) and prints a
# PATH line for them. The Go modules are ours, under go/ (go/README.md).
#
#   bash lab/toolchain/build.sh unit    the Go modules' checks (check.sh), actionlint, zizmor (for `npm test`)
#   bash lab/toolchain/build.sh lab     + pulumi, its providers, Kubernetes, etcd, kwok
#   bash lab/toolchain/build.sh suites  + Capsule and the lab's Flux release (its install.yaml): what
#                                       every lab suite needs but the live-Flux ones
#   bash lab/toolchain/build.sh live    the Flux controllers (Flux v2.9.5's and v2.7.3's), the older
#                                       Flux release and the flux CLI:
#                                       the rest of `all`, for the live-Flux suites (isolation, day2,
#                                       release, bench); CI builds it while the other suites run
#   bash lab/toolchain/build.sh all     suites + live (what CI builds cold)
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
  suites) scripts=(check actionlint zizmor pulumi kube capsule flux-release-lab) ;;
  live) scripts=(flux flux-release flux-cli) ;;
  all) scripts=(check actionlint zizmor pulumi kube capsule flux-release-lab flux flux-release flux-cli) ;;
  *) echo "usage: $0 unit|lab|suites|live|all" >&2; exit 2 ;;
esac

start=$(date +%s)
dirs=()
for s in "${scripts[@]}"; do
  t0=$(date +%s)
  case "$s" in # a failing stage fails the build
    flux-release-lab) out=$(bash "$here/flux-release.sh" --lab) ;;
    *) out=$(bash "$here/$s.sh") ;;
  esac
  while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done <<<"$out"
  log "stage $s: $(( $(date +%s) - t0 ))s"
done
log "toolchain ($group): $(( $(date +%s) - start ))s"
joined=$(IFS=:; echo "${dirs[*]}")
echo "export PATH=$joined:\$PATH"
