#!/usr/bin/env bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source it
# Shared settings and helpers for lab/controllers/{up,down}.sh. Source it; do not run it.
#
# The controllers (Flux source-controller and kustomize-controller, Capsule)
# run as local processes against the lab cluster of lab/cluster/up.sh, with
# the lab's admin kubeconfig. Their state (logs, pid files, artifact storage,
# webhook certificate) lives in $CTRL_STATE, inside the lab's state dir, so
# lab/cluster/down.sh removes it too (run lab/controllers/down.sh first).

set -euo pipefail

CTRL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CTRL_LAB=${FLUX_CAPSULE_LAB:-/tmp/flux-capsule-lab}
CTRL_LAB=${CTRL_LAB%/}
CTRL_KUBECONFIG=$CTRL_LAB/kubeconfig
CTRL_STATE=$CTRL_LAB/controllers

# Namespaces the controllers run "in" (RUNTIME_NAMESPACE / NAMESPACE).
CTRL_FLUX_NS=flux-system
CTRL_CAPSULE_NS=capsule-system

# Loopback ports. Capsule's health probe is fixed at :10080 (no flag in
# v0.14.0) and its webhook server takes a port only (it binds every address).
CTRL_HOST=127.0.0.1
CTRL_SOURCE_METRICS_PORT=${CTRL_SOURCE_METRICS_PORT:-18080}
CTRL_SOURCE_HEALTH_PORT=${CTRL_SOURCE_HEALTH_PORT:-19440}
CTRL_SOURCE_STORAGE_PORT=${CTRL_SOURCE_STORAGE_PORT:-19090}
CTRL_KUSTOMIZE_METRICS_PORT=${CTRL_KUSTOMIZE_METRICS_PORT:-18081}
CTRL_KUSTOMIZE_HEALTH_PORT=${CTRL_KUSTOMIZE_HEALTH_PORT:-19441}
CTRL_CAPSULE_METRICS_PORT=${CTRL_CAPSULE_METRICS_PORT:-18082}
CTRL_CAPSULE_WEBHOOK_PORT=${CTRL_CAPSULE_WEBHOOK_PORT:-19443}
CTRL_CAPSULE_HEALTH_PORT=10080

# Start order; down.sh stops in reverse (the runner, which would restart
# them, before the Flux controllers it started).
CTRL_COMPONENTS=(source-controller kustomize-controller flux-runner capsule capsule-controller-manager capsule-runner)

# Every process we start carries this in its environment, so down.sh can find
# strays (lost pid files) without matching on names.
CTRL_MARKER_VAR=FLUX_CAPSULE_CONTROLLERS_STATE

ctrl_log() { printf '[controllers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Processes are started, found and stopped by the lab's one supervisor.
# shellcheck source=../supervise.sh
source "$CTRL_ROOT/lab/supervise.sh"
SUP_LOG=ctrl_log

ctrl_pidfile() { printf '%s/run/%s.pid' "$CTRL_STATE" "$1"; }
ctrl_logfile() { printf '%s/logs/%s.log' "$CTRL_STATE" "$1"; }

# ctrl_pid NAME -> pid of a running component started by up.sh for this state
# dir (its marker variable); fails otherwise.
ctrl_pid() { sup_pid "$(ctrl_pidfile "$1")" "env=$CTRL_MARKER_VAR=$CTRL_STATE"; }

ctrl_running() { ctrl_pid "$1" >/dev/null; }

# ctrl_kill "PID NAME"... -> SIGTERM, up to 15 s grace, then SIGKILL.
ctrl_kill() { sup_stop 15 "$@"; }

# ctrl_strays -> "PID NAME" of processes carrying our marker that no pid file accounts for.
ctrl_strays() { sup_strays "env=$CTRL_MARKER_VAR=$CTRL_STATE"; }

# ctrl_tools [flux] [capsule] -> sets KUBECTL, and with "flux" FLUX_TOOL_DIRS
# (every version lab/toolchain/flux.sh builds: the lab's Flux release and the
# older one of the upgrade scenario; the runner picks one by image tag),
# SOURCE_CONTROLLER, KUSTOMIZE_CONTROLLER (the lab release's binaries),
# FLUX_CRDS (the lab release's CRD dirs), with "capsule" CAPSULE, CAPSULE_CRDS
# (dir); builds what is missing (lab/toolchain/*.sh).
ctrl_tools() {
  local d part
  KUBECTL=
  while read -r d; do
    [ -n "$d" ] && [ -x "$d/kubectl" ] && KUBECTL=$d/kubectl
  done < <(bash "$CTRL_ROOT/lab/toolchain/kube.sh")
  [ -n "$KUBECTL" ] || { ctrl_log "FAILED: lab/toolchain/kube.sh gave no kubectl"; return 1; }
  for part in "$@"; do "ctrl_tools_$part"; done
}

ctrl_tools_flux() {
  local d
  SOURCE_CONTROLLER='' KUSTOMIZE_CONTROLLER='' FLUX_CRDS=() FLUX_TOOL_DIRS=()
  while read -r d; do
    [ -n "$d" ] || continue
    FLUX_TOOL_DIRS+=("$d")
  done < <(bash "$CTRL_ROOT/lab/toolchain/flux.sh")
  # The CRDs of the lab's release only: they are the newest, and an older
  # release's, applied after them, would replace them with older ones.
  while read -r d; do
    [ -n "$d" ] || continue
    FLUX_CRDS+=("$d")
    [ -x "${d%/crds}/source-controller" ] && SOURCE_CONTROLLER=${d%/crds}/source-controller
    [ -x "${d%/crds}/kustomize-controller" ] && KUSTOMIZE_CONTROLLER=${d%/crds}/kustomize-controller
  done < <(bash "$CTRL_ROOT/lab/toolchain/flux.sh" --crds)
  if [ -z "$SOURCE_CONTROLLER" ] || [ -z "$KUSTOMIZE_CONTROLLER" ]; then
    ctrl_log "FAILED: lab/toolchain/flux.sh gave no controller binaries"
    return 1
  fi
}

ctrl_tools_capsule() {
  local d
  d=$(bash "$CTRL_ROOT/lab/toolchain/capsule.sh")
  CAPSULE=$d/capsule
  CAPSULE_CRDS=$d/crds
  [ -x "$CAPSULE" ] || { ctrl_log "FAILED: lab/toolchain/capsule.sh gave no capsule binary"; return 1; }
}

kc() { "$KUBECTL" --kubeconfig "$CTRL_KUBECONFIG" "$@"; }
