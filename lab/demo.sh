#!/usr/bin/env bash
# One-command demo: from a fresh clone to Flux + Capsule tenants reconciled in
# the local lab, then a short threat table and how to explore.
#
#   bash lab/demo.sh          # (npm run demo) build/reuse the toolchain, start the lab,
#                             # the GitHub double, Capsule, pulumi up, Flux; leaves it all running
#   DEMO_TENANCY=namespace bash lab/demo.sh   # the same without Capsule (namespace mode)
#   bash lab/demo.sh down     # stop the demo's GitHub double and the controllers, then the lab
#
# Stages: deps, toolchain, lab, github, stack (Capsule, pulumi up, Flux, threats).
# Each prints progress; its full output goes to $DEMO_LOGS/<stage>.log and a
# failure names the stage and that log. Idempotent: a second run reuses the
# lab, the double (fixed ports 17080/17022) and the stack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=${FLUX_CAPSULE_LAB:-/tmp/flux-capsule-lab}
LAB=${LAB%/}
DEMO=$LAB/demo
DEMO_LOGS=${DEMO_LOGS:-/tmp/flux-capsule-demo-logs}
TOKEN=demo-token
HTTP_PORT=17080
SSH_PORT=17022
cd "$ROOT"
mkdir -p "$DEMO_LOGS"

say() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# The double is started, found and stopped by the lab's one supervisor.
# shellcheck source=supervise.sh
source "$ROOT/lab/supervise.sh"
SUP_LOG=say

# stage NAME CMD... -> runs CMD, output shown and kept in $DEMO_LOGS/NAME.log.
stage() {
  local name=$1 log=$DEMO_LOGS/$1.log start=$SECONDS
  shift
  say "stage $name: $*"
  if ! "$@" 2>&1 | tee "$log"; then
    say "FAILED at stage '$name' after $((SECONDS - start))s; full log: $log"
    exit 1
  fi
  say "stage $name done in $((SECONDS - start))s"
}

# double_pid -> the pid of the demo's double, when it runs and carries this
# demo's marker variable; fails otherwise.
double_pid() { sup_pid "$DEMO/github.pid" "env=FLUX_CAPSULE_DEMO=$DEMO"; }

start_double() {
  if pid=$(double_pid); then
    echo "GitHub double already running (pid $pid)"
    return 0
  fi
  mkdir -p "$DEMO"
  chmod 755 "$DEMO"
  rm -f "$DEMO/github/connection.json"
  sup_start "$DEMO/github.pid" "$DEMO_LOGS/github-double.log" "env=FLUX_CAPSULE_DEMO=$DEMO" -- FLUX_CAPSULE_DEMO="$DEMO" \
    node -r ts-node/register/transpile-only lab/github/main.ts --data-dir "$DEMO/github" --token "$TOKEN" \
    --port "$HTTP_PORT" --ssh-port "$SSH_PORT" --owner acme --repo acme/fleet-infra:main || true
  for _ in $(seq 1 150); do
    [ -s "$DEMO/github/connection.json" ] && { echo "GitHub double up: API http://127.0.0.1:$HTTP_PORT, SSH 127.0.0.1:$SSH_PORT"; return 0; }
    if ! double_pid >/dev/null; then
      echo "the GitHub double exited; log: $DEMO_LOGS/github-double.log"
      tail -n 20 "$DEMO_LOGS/github-double.log"
      return 1
    fi
    sleep 0.2
  done
  echo "the GitHub double did not start in 30s; log: $DEMO_LOGS/github-double.log"
  return 1
}

down() {
  if pid=$(double_pid); then sup_stop 10 "$pid GitHub double"; fi
  bash lab/controllers/down.sh
  bash lab/cluster/down.sh
  rm -f "$ROOT/Pulumi.e2e-demo.yaml"
}

case "${1:-up}" in
  down) down; exit 0 ;;
  up) ;;
  *) echo "usage: lab/demo.sh [up|down]" >&2; exit 2 ;;
esac

T0=$SECONDS
if [ ! -d node_modules/@pulumi/pulumi ]; then stage deps npm ci --no-audit --no-fund; fi
stage toolchain bash lab/toolchain/build.sh lab
stage lab bash -c 'bash lab/setup.sh && bash lab/cluster/up.sh'
stage github start_double
stage stack node -r ts-node/register/transpile-only lab/demo.ts "$DEMO/github/connection.json" "$TOKEN" "$DEMO/pulumi"
say "demo ready in $((SECONDS - T0))s. Everything keeps running until: bash lab/demo.sh down (the double, controllers, then the lab)"
