#!/usr/bin/env bash
# Stops every lab process (pid files first: SIGTERM, then SIGKILL after 20 s;
# then any of our binaries still pointing into the state dir) and removes the
# state dir. Idempotent; also cleans up after a lab whose processes died.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lab_lock
if [ ! -e "$LAB_STATE" ] && [ -z "$(lab_strays)" ]; then
  lab_log "lab is not up ($LAB_STATE does not exist)"
  exit 0
fi
lab_teardown
lab_log "lab down"
