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
#                                       release, peer, bench); CI builds it while the other suites run
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
# Two lanes run side by side, each a list of scripts run in order. A Go build
# keeps 2 cores only about 1.8 busy (its link and last packages run alone), so
# a second lane fills the gaps. Lane a is the Pulumi groups (the Go checks
# compile much of what the engine's group shares); lane b the cluster,
# Capsule and Flux, one build group whose members run one after the other so
# that each reuses what the ones before compiled. In `all`, Capsule ends lane a
# instead (the lanes end closer together; by then lane b has compiled what it
# shares). Go's build and module caches are safe to share between processes;
# a tool's own directory is not, so no tool is in both lanes.
case "$group" in
  unit) lane_a=(check actionlint zizmor) lane_b=() ;;
  lab) lane_a=(check actionlint zizmor pulumi) lane_b=(kube) ;;
  suites) lane_a=(check actionlint zizmor pulumi) lane_b=(kube flux-release-lab capsule) ;;
  live) lane_a=() lane_b=(flux flux-release flux-cli) ;;
  all) lane_a=(check actionlint zizmor pulumi capsule) lane_b=(kube flux-release-lab flux flux-release flux-cli) ;;
  *) echo "usage: $0 unit|lab|suites|live|all" >&2; exit 2 ;;
esac

out=$(mktemp -d)
# lane NAME SCRIPT...: runs each script in order, its tool dirs into
# $out/SCRIPT; stops at the first that fails, naming it.
lane() {
  local name=$1 s t0 rc
  shift
  for s in "$@"; do
    t0=$(date +%s)
    rc=0
    case "$s" in
      flux-release-lab) bash "$here/flux-release.sh" --lab >"$out/$s" || rc=$? ;;
      *) bash "$here/$s.sh" >"$out/$s" || rc=$? ;;
    esac
    if [ "$rc" != 0 ]; then
      log "stage $s (lane $name): FAILED (exit $rc) after $(($(date +%s) - t0))s"
      return "$rc"
    fi
    log "stage $s (lane $name): $(($(date +%s) - t0))s"
  done
}

start=$(date +%s)
# Each lane runs in a process group of its own (set -m; a script's background
# job would otherwise ignore SIGINT), so that when one lane fails, or this
# script is interrupted or killed, the other lane's builds stop too: no build
# goes on writing into the cache after build.sh has gone.
set -m
lane a "${lane_a[@]}" &
pid_a=$!
lane b "${lane_b[@]}" &
pid_b=$!
set +m
trap 'kill -- -"$pid_a" -"$pid_b" 2>/dev/null || true; rm -rf "$out"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rc=0
for _ in a b; do # the first lane to fail ends the build
  wait -n || { rc=$?; break; }
done
[ "$rc" = 0 ] || { log "toolchain ($group): FAILED (exit $rc; the FAILED stage above says where)"; exit "$rc"; }
log "toolchain ($group): $(($(date +%s) - start))s"
dirs=()
for s in "${lane_a[@]}" "${lane_b[@]}"; do
  while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done <"$out/$s"
done
joined=$(IFS=:; echo "${dirs[*]}")
echo "export PATH=$joined:\$PATH"
