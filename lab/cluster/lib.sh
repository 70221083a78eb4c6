#!/usr/bin/env bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source it
# Shared settings and helpers for lab/cluster/{up,down,env}.sh. Source it; do not run it.
#
# The lab is a real Kubernetes control plane on loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, and kwok faking one Node (pods on it
# go Running without any container runtime). Everything lives in $LAB_STATE.

set -euo pipefail

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_STATE=${FLUX_CAPSULE_LAB:-/tmp/flux-capsule-lab}
LAB_STATE=${LAB_STATE%/}
# Name of the kubeconfig cluster and context (the user is "admin").
LAB_NAME=flux-capsule-lab
LAB_KUBECONFIG=$LAB_STATE/kubeconfig
# kubectl's discovery/HTTP cache goes into the state dir too (not ~/.kube).
export KUBECACHEDIR=$LAB_STATE/kube-cache
# The file that marks a directory as lab state, so teardown never deletes anything else.
LAB_MARKER=.flux-capsule-lab

# Loopback ports (10080 and 2222 are taken by other parts of the project).
LAB_HOST=127.0.0.1
LAB_ETCD_PORT=23790          # etcd clients (plain HTTP)
LAB_ETCD_PEER_PORT=23800     # etcd peer (single member)
LAB_APISERVER_PORT=16443     # kube-apiserver (TLS)
LAB_KCM_PORT=16257           # kube-controller-manager health/metrics (TLS)
LAB_SCHEDULER_PORT=16259     # kube-scheduler health/metrics (TLS)
LAB_KWOK_PORT=16250          # kwok health (plain HTTP)

# Virtual address ranges: written into objects only. Nothing on this host
# routes or serves them (no kube-proxy, no CNI); the fake node's own address
# is loopback so that apiserver->"kubelet" calls (logs, exec) stay local.
LAB_SERVICE_CIDR=10.96.0.0/16
LAB_POD_CIDR=10.244.0.0/16
LAB_NODE_NAME=kwok-node-0

# Start order; teardown runs in reverse.
LAB_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Processes are started, found and stopped by the lab's one supervisor.
# shellcheck source=../supervise.sh
source "$LAB_ROOT/lab/supervise.sh"
SUP_LOG=lab_log

lab_pidfile() { printf '%s/run/%s.pid' "$LAB_STATE" "$1"; }
lab_logfile() { printf '%s/logs/%s.log' "$LAB_STATE" "$1"; }

# lab_start [--append] NAME CMD... -> starts component NAME (lab/supervise.sh
# sup_start: own session, its log file, the pid file written by the process
# itself before it execs); fails when it did not start.
lab_start() {
  local append=()
  if [ "$1" = --append ]; then append=(--append); shift; fi
  local name=$1
  shift
  sup_start "${append[@]}" "$(lab_pidfile "$name")" "$(lab_logfile "$name")" "name=$name" "arg=$LAB_STATE/" -- "$@"
}

# lab_pid NAME -> prints the pid of a running component (fails otherwise): a
# process running the binary NAME (so a recycled pid is never signalled by
# mistake) with an argument pointing into $LAB_STATE (nor another lab's).
lab_pid() { sup_pid "$(lab_pidfile "$1")" "name=$1" "arg=$LAB_STATE/"; }

lab_running() { lab_pid "$1" >/dev/null; }

# lab_kill "PID NAME"... -> SIGTERM to all, up to 20 s grace, then SIGKILL.
lab_kill() { sup_stop 20 "$@"; }

# lab_strays -> "PID NAME" lines for our binaries whose command line points
# into $LAB_STATE but that no pid file accounts for (e.g. the pid dir was lost).
lab_strays() {
  local names
  printf -v names '%s|' "${LAB_COMPONENTS[@]}"
  sup_strays "name=${names%|}" "arg=$LAB_STATE/"
}

# lab_stop_all -> stops every component, from pid files and from the /proc
# scan alike: kwok and the controllers first, then the apiserver, then etcd
# (an apiserver whose etcd is gone takes long to shut down).
lab_stop_all() {
  local strays group name pid batch entry
  strays=$(lab_strays)
  for group in "kwok kube-scheduler kube-controller-manager" kube-apiserver etcd; do
    batch=()
    for name in $group; do
      pid=
      if pid=$(lab_pid "$name"); then batch+=("$pid $name"); fi
      while read -r entry; do
        if [ -z "$entry" ] || [ "${entry#* }" != "$name" ] || [ "${entry%% *}" = "$pid" ]; then
          continue
        fi
        lab_log "found $name (pid ${entry%% *}) without a pid file"
        batch+=("$entry")
      done <<<"$strays"
    done
    ((${#batch[@]} == 0)) || lab_kill "${batch[@]}"
    for name in $group; do rm -f "$(lab_pidfile "$name")"; done
  done
}

# lab_teardown -> stops everything and removes the state dir (only if it is ours).
lab_teardown() {
  lab_stop_all
  if [ -d "$LAB_STATE" ]; then
    if [ -f "$LAB_STATE/$LAB_MARKER" ]; then
      rm -rf -- "$LAB_STATE"
      lab_log "removed $LAB_STATE"
    else
      lab_log "refusing to delete $LAB_STATE: it has no $LAB_MARKER file (not lab state)"
      return 1
    fi
  fi
}

# lab_lock -> serialises up/down on one state dir. The lock is taken on the
# state dir's parent directory, so no lock file is ever left behind.
lab_lock() {
  local parent
  parent=$(dirname "$LAB_STATE")
  mkdir -p "$parent"
  exec {LAB_LOCK_FD}<"$parent"
  if ! flock -w 600 "$LAB_LOCK_FD"; then
    lab_log "another lab up/down still runs on $LAB_STATE"
    return 1
  fi
}
