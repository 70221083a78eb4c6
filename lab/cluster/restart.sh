#!/usr/bin/env bash
# Restarts one running lab component with exactly the command line it has,
# for fault tests: `lab/cluster/restart.sh kube-apiserver [down-seconds]`.
# Stops it (SIGTERM, then SIGKILL after 20 s), stays down for down-seconds
# (default 2), starts it again and, for the apiserver, waits for /readyz.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local name=${1:?usage: restart.sh COMPONENT [down-seconds]} down=${2:-2} pid i
  local -a argv
  pid=$(lab_pid "$name") || { lab_log "FAILED: $name is not running"; return 1; }
  mapfile -d '' argv <"/proc/$pid/cmdline"
  lab_kill "$pid $name"
  sleep "$down"
  lab_start --append "$name" "${argv[@]}" || { lab_log "FAILED: $name did not start; log: $(lab_logfile "$name")"; return 1; }
  for ((i = 0; i < 1200; i++)); do
    if lab_running "$name"; then
      if [ "$name" != kube-apiserver ] || curl -fsS --cacert "$LAB_STATE/pki/ca.crt" --cert "$LAB_STATE/pki/admin.crt" \
        --key "$LAB_STATE/pki/admin.key" "https://$LAB_HOST:$LAB_APISERVER_PORT/readyz" >/dev/null 2>&1; then
        lab_log "restarted $name (pid $(lab_pid "$name"))"
        return 0
      fi
    fi
    sleep 0.1
  done
  lab_log "FAILED: $name did not come back; log: $(lab_logfile "$name")"
  return 1
}

main "$@"; exit $?
