#!/usr/bin/env bash
# Stops the controllers started by lab/controllers/up.sh (pid files first:
# SIGTERM, then SIGKILL after 15 s; then any process still carrying this state
# dir's marker) and, while the lab apiserver answers, deletes the webhook
# configurations Capsule created, so a lab left running without Capsule still
# admits namespaces. Keeps logs; drops pid files, artifact storage and the
# controllers' temporary files (their TMPDIR, lab/controllers/runner.ts).
# Idempotent. Run it before lab/cluster/down.sh (which deletes the state dir).
#
#   lab/controllers/down.sh [--only flux]
#
# --only flux stops the Flux runner and the controllers it runs only, from
# their pid files, and leaves Capsule, the webhooks, the storage and the
# temporary files alone (a stack is torn down with Capsule still serving its
# finalizers and webhooks).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "$*" in
  "") STOP=("${CTRL_COMPONENTS[@]}") ;;
  "--only flux") STOP=(source-controller kustomize-controller flux-runner) ;;
  *) echo "usage: lab/controllers/down.sh [--only flux]" >&2; exit 2 ;;
esac
for ((i = ${#STOP[@]} - 1; i >= 0; i--)); do
  name=${STOP[i]}
  if pid=$(ctrl_pid "$name"); then
    ctrl_kill "$pid $name"
  fi
  rm -f "$(ctrl_pidfile "$name")"
done
if [ "$*" = "--only flux" ]; then
  ctrl_log "Flux controllers down; Capsule left running"
  exit 0
fi
while read -r pid name; do
  [ -n "$pid" ] || continue
  ctrl_log "found pid $pid ($name) of $CTRL_STATE without a pid file"
  ctrl_kill "$pid stray $name"
done < <(ctrl_strays)

if [ -f "$CTRL_KUBECONFIG" ]; then
  KUBECTL=
  while read -r d; do
    [ -n "$d" ] && [ -x "$d/kubectl" ] && KUBECTL=$d/kubectl
  done < <(bash "$CTRL_ROOT/lab/toolchain/kube.sh" 2>/dev/null)
  if [ -n "$KUBECTL" ] && kc get --raw /readyz >/dev/null 2>&1; then
    kc delete validatingwebhookconfiguration,mutatingwebhookconfiguration capsule-dynamic-webhook \
      --ignore-not-found --wait=false >/dev/null &&
      ctrl_log "Capsule's webhook configurations removed"
  fi
fi
rm -rf "$CTRL_STATE/storage" "$CTRL_STATE/run" "$CTRL_STATE/tmp"
ctrl_log "controllers down"
