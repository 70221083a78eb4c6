#!/usr/bin/env bash
# Runs Flux's source-controller and kustomize-controller and Capsule as local
# processes against the lab cluster (lab/cluster/up.sh must be up), out of
# cluster, with the lab's admin kubeconfig. Idempotent: running components are
# left alone; CRDs and the CapsuleConfiguration are (re)applied every time
# (--keep-crds: not Flux's, which a stack of another release applied).
#
#   lab/controllers/up.sh [--capsule-user KIND:NAME]... [--only flux|capsule] [--keep-crds] [--capsule-chart]
#   lab/controllers/down.sh
#
# Flux: starts the runner (lab/controllers/runner.ts), the lab's kubelet for
# Flux: it runs each controller from its Deployment in flux-system (what
# `pulumi up` applied, later what Flux reconciles), with that Deployment's
# args and env, and restarts, stops or refuses it as the Deployment changes;
# its log (logs/flux-runner.log) has every command line. up.sh then waits
# until both controllers answer readyz, so the Deployments must exist. The
# runner gets every version lab/toolchain/flux.sh builds (Flux v2.9.5's, the
# lab's release, and v2.7.3's, for the upgrade scenario) and runs the one the
# Deployment's image tag names. CRDs come from the controllers' Go modules
# too: the lab release's (flux.sh --crds).
#
# Capsule gets CapsuleConfiguration "default" whose spec.admission points the
# webhooks Capsule creates at https://127.0.0.1:$CTRL_CAPSULE_WEBHOOK_PORT
# (self-signed CA, SAN IP:127.0.0.1); spec.users is the group
# capsule.clastix.io plus each --capsule-user (KIND is User, Group or
# ServiceAccount; a ServiceAccount NAME is system:serviceaccount:NS:SA).
# Capsule's flags are up.sh's own, in capsule.sh (the lab's stacks do not apply its Deployment).
#
# --capsule-chart instead leaves Capsule to `pulumi up` (capsule.install: true,
# from the chart in Capsule's module, with lab/client/capsule.ts's values) and
# starts capsule-runner, the runner of lab/controllers/runner.ts for
# capsule-system: it runs Capsule from the chart's Deployment once there is
# one, and fills the chart's empty Secret capsule-tls with the lab's
# certificate (the same CA, SAN IP:127.0.0.1), as a cluster's issuer would.
#
# Env: FLUX_CAPSULE_LAB (lab state dir), CTRL_*_PORT (see lib.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n 's/^#   //p' "${BASH_SOURCE[0]}" | head -n 2 >&2
  exit 2
}

ONLY='' CAPSULE_USERS=() KEEP_CRDS= CAPSULE_CHART=
while [ $# -gt 0 ]; do
  case "$1" in
    --capsule-chart) CAPSULE_CHART=1; shift ;;
    --capsule-user) CAPSULE_USERS+=("${2:?}"); shift 2 ;;
    --keep-crds) KEEP_CRDS=1; shift ;;
    --only) ONLY=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
case "$ONLY" in "" | flux | capsule) ;; *) usage ;; esac

fail() {
  local name=$1 log
  shift
  ctrl_log "FAILED: $name: $*"
  log=$(ctrl_logfile "$name")
  if [ -f "$log" ]; then
    ctrl_log "$name log: $log (last lines below)"
    tail -n 20 "$log" | sed 's/^/    /' >&2
  fi
  exit 1
}

# wait_until NAME TIMEOUT WHAT CMD... -> polls CMD; fails early when NAME died.
wait_until() {
  local name=$1 timeout=$2 what=$3 deadline
  shift 3
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    ctrl_running "$name" || fail "$name" "process exited while waiting for: $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail "$name" "not ready after ${timeout}s: $what"
    sleep 0.5
  done
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# start NAME ENV... -- BIN ARGS... -> detached process (lab/supervise.sh
# sup_start) with log and pid file, carrying the marker variable.
start() {
  local name=$1 envs=()
  shift
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  ctrl_log "starting $name:$(printf ' %q' "${envs[@]}" "$@")"
  sup_start "$(ctrl_pidfile "$name")" "$(ctrl_logfile "$name")" "env=$CTRL_MARKER_VAR=$CTRL_STATE" -- \
    "$CTRL_MARKER_VAR=$CTRL_STATE" KUBECONFIG="$CTRL_KUBECONFIG" "${envs[@]}" "$@" || fail "$name" "did not start"
}

# start_runner NAME NAMESPACE ARGS... -> lab/controllers/runner.ts for the
# Deployments of NAMESPACE, with lib.sh's loopback ports (every controller's).
start_runner() {
  local name=$1 namespace=$2
  shift 2
  start "$name" CTRL_HOST="$CTRL_HOST" CTRL_STATE="$CTRL_STATE" CTRL_KUBECONFIG="$CTRL_KUBECONFIG" \
    CTRL_MARKER_VAR="$CTRL_MARKER_VAR" \
    CTRL_SOURCE_METRICS_PORT="$CTRL_SOURCE_METRICS_PORT" CTRL_SOURCE_HEALTH_PORT="$CTRL_SOURCE_HEALTH_PORT" \
    CTRL_SOURCE_STORAGE_PORT="$CTRL_SOURCE_STORAGE_PORT" \
    CTRL_KUSTOMIZE_METRICS_PORT="$CTRL_KUSTOMIZE_METRICS_PORT" CTRL_KUSTOMIZE_HEALTH_PORT="$CTRL_KUSTOMIZE_HEALTH_PORT" \
    CTRL_CAPSULE_METRICS_PORT="$CTRL_CAPSULE_METRICS_PORT" CTRL_CAPSULE_HEALTH_PORT="$CTRL_CAPSULE_HEALTH_PORT" \
    CTRL_CAPSULE_WEBHOOK_PORT="$CTRL_CAPSULE_WEBHOOK_PORT" -- \
    node -r "$CTRL_ROOT/node_modules/ts-node/register/transpile-only" "$CTRL_ROOT/lab/controllers/runner.ts" \
    --kubectl "$KUBECTL" --namespace "$namespace" "$@"
}

# ensure_namespace NAME -> the namespace exists and is Active. One left
# Terminating by an earlier run (its content still being removed) cannot take
# new objects, so wait for it to go first, then create it afresh.
ensure_namespace() {
  local phase
  phase=$(kc get namespace "$1" -o 'jsonpath={.status.phase}' 2>/dev/null || true)
  if [[ $phase == Terminating ]]; then
    ctrl_log "namespace $1 is still terminating; waiting for it to go"
    kc wait --for=delete "namespace/$1" --timeout=180s >/dev/null ||
      fail "namespace $1" "still terminating after 180 s (see: kubectl get namespace $1 -o yaml)"
    phase=
  fi
  [[ -n $phase ]] || kc create namespace "$1" >/dev/null
}

# apply_crds DIR... -> server-side apply (the CRDs are too large for
# client-side apply's annotation) and wait until they are established.
apply_crds() {
  local d names
  for d in "$@"; do
    names=$(kc apply --server-side --force-conflicts --field-manager=flux-capsule-lab -f "$d" -o name)
    # shellcheck disable=SC2086
    kc wait --for condition=established --timeout=60s $names >/dev/null
    ctrl_log "CRDs from $d: $(wc -w <<<"$names") established"
  done
}

# ------------------------------------------------------------------ Flux

up_flux() {
  local d tools=()
  # --keep-crds: the stack applied its release's CRDs (another release than the lab's).
  [ -n "$KEEP_CRDS" ] || apply_crds "${FLUX_CRDS[@]}"
  ensure_namespace "$CTRL_FLUX_NS"
  if ctrl_running flux-runner; then
    ctrl_log "flux-runner already running (pid $(ctrl_pid flux-runner))"
  else
    for d in "${FLUX_TOOL_DIRS[@]}"; do tools+=(--tool "$d"); done
    start_runner flux-runner "$CTRL_FLUX_NS" "${tools[@]}"
  fi
  wait_until flux-runner 180 "source-controller readyz (from Deployment $CTRL_FLUX_NS/source-controller)" \
    curl -fsS "http://$CTRL_HOST:$CTRL_SOURCE_HEALTH_PORT/readyz"
  wait_until flux-runner 180 "kustomize-controller readyz (from Deployment $CTRL_FLUX_NS/kustomize-controller)" \
    curl -fsS "http://$CTRL_HOST:$CTRL_KUSTOMIZE_HEALTH_PORT/readyz"
  ctrl_log "Flux controllers ready; command lines in $(ctrl_logfile flux-runner)"
}

# ------------------------------------------------------------------ Capsule

# shellcheck source=capsule.sh
source "$CTRL_ROOT/lab/controllers/capsule.sh"

# ------------------------------------------------------------------ main

case "$ONLY" in
  flux) ctrl_tools flux ;;
  capsule) ctrl_tools capsule ;;
  *) ctrl_tools flux capsule ;;
esac
[ -f "$CTRL_KUBECONFIG" ] || { ctrl_log "FAILED: no lab kubeconfig at $CTRL_KUBECONFIG (run lab/cluster/up.sh)"; exit 1; }
kc get --raw /readyz >/dev/null 2>&1 || { ctrl_log "FAILED: the lab apiserver is not ready ($CTRL_KUBECONFIG)"; exit 1; }
mkdir -p "$CTRL_STATE/logs" "$CTRL_STATE/run"
start_time=$(date +%s)
[ "$ONLY" = capsule ] || up_flux
if [ "$ONLY" != flux ]; then
  if [ -n "$CAPSULE_CHART" ]; then up_capsule_runner; else up_capsule; fi
fi
ctrl_log "controllers up in $(($(date +%s) - start_time))s; logs in $CTRL_STATE/logs"
