#!/usr/bin/env bash
# The one supervisor of the lab's long-running processes: the cluster's
# components (lab/cluster), Flux and Capsule (lab/controllers) and the demo's
# GitHub double (lab/demo.sh). Source it; do not run it. Messages go through
# the function named by SUP_LOG (each caller sets its own).
#
# A process is started in a session of its own (setsid), stdin from
# /dev/null, stdout and stderr to its log file, and writes its own pid to its
# pid file before it execs, so the file names the process itself. A pid is
# signalled only when it passes its CHECKs, so a stale pid file, or a pid the
# kernel has given to another process since, never stops the wrong process:
#   name=A[|B...]   the basename of its argv[0] is one of these
#   arg=TEXT        one of its arguments (after argv[0]) contains TEXT
#   env=VAR=VALUE   its environment (as it started) holds exactly VAR=VALUE
# and while it is being stopped, a pid whose start time changed is left alone.

SUP_LOG=${SUP_LOG:-sup_stderr}

sup_stderr() { printf '%s\n' "$*" >&2; }

# sup_is PID CHECK... -> true when process PID passes every CHECK.
sup_is() {
  local pid=$1 check want a found
  local -a argv env
  shift
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { mapfile -d '' -t argv <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  ((${#argv[@]})) || return 1
  for check in "$@"; do
    want=${check#*=}
    case $check in
      name=*) [[ "|$want|" == *"|${argv[0]##*/}|"* ]] || return 1 ;;
      arg=*)
        found=
        for a in "${argv[@]:1}"; do [[ $a != *"$want"* ]] || { found=1; break; }; done
        [ -n "$found" ] || return 1
        ;;
      env=*)
        { mapfile -d '' -t env <"/proc/$pid/environ"; } 2>/dev/null || return 1
        found=
        for a in "${env[@]}"; do [[ $a != "$want" ]] || { found=1; break; }; done
        [ -n "$found" ] || return 1
        ;;
      *) "$SUP_LOG" "supervise.sh: unknown check '$check'"; return 1 ;;
    esac
  done
}

# sup_pid PIDFILE CHECK... -> prints the pid PIDFILE names when that process
# runs and passes every CHECK; fails otherwise.
sup_pid() {
  local f=$1 pid
  shift
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null && sup_is "$pid" "$@" || return 1
  printf '%s' "$pid"
}

# sup_start [--append] PIDFILE LOGFILE CHECK... -- [VAR=VALUE...] CMD [ARG...]
# -> starts CMD detached (environment plus VAR=VALUE), its output in LOGFILE
# (truncated first unless --append), and waits up to 5 s until PIDFILE names
# it and it passes every CHECK; fails otherwise (the caller says so).
sup_start() {
  local append='' pidf log i
  local -a checks=() envs=()
  if [ "$1" = --append ]; then append=1; shift; fi
  pidf=$1 log=$2
  shift 2
  while [ "$1" != -- ]; do checks+=("$1"); shift; done
  shift
  while [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do envs+=("$1"); shift; done
  rm -f "$pidf"
  [ -n "$append" ] || : >"$log"
  # shellcheck disable=SC2016
  env "${envs[@]}" setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" </dev/null >>"$log" 2>&1 &
  for ((i = 0; i < 100; i++)); do
    sup_pid "$pidf" "${checks[@]}" >/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# sup_started PID VAR -> sets VAR to PID's start time (clock ticks after boot),
# which tells the process from a later one given the same pid; fails when PID
# does not exist.
sup_started() {
  local stat
  local -a fields
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ") ".
  read -ra fields <<<"${stat##*") "}"
  printf -v "$2" '%s' "${fields[19]}"
}

# sup_stop GRACE "PID NAME"... -> SIGTERM to all; SIGKILL to any still there
# after GRACE seconds; waits up to 5 s more, then says which stopped.
sup_stop() {
  local grace=$1 i n now
  local -a entries=("${@:2}") pids=() names=() started=() left
  for ((n = 0; n < ${#entries[@]}; n++)); do
    pids[n]=${entries[n]%% *} names[n]=${entries[n]#* } started[n]=
    sup_started "${pids[n]}" "started[n]" || continue
    kill -TERM "${pids[n]}" 2>/dev/null || true
  done
  for ((i = 0; i < grace * 10 + 50; i++)); do
    left=()
    for ((n = 0; n < ${#pids[@]}; n++)); do
      [ -n "${started[n]}" ] || continue
      if sup_started "${pids[n]}" now && [ "$now" = "${started[n]}" ]; then
        left+=("$n")
        if ((i == grace * 10)); then
          "$SUP_LOG" "${names[n]} (pid ${pids[n]}) ignored SIGTERM for ${grace}s: SIGKILL"
          kill -KILL "${pids[n]}" 2>/dev/null || true
        fi
      else
        started[n]=
      fi
    done
    ((${#left[@]})) || break
    sleep 0.1
  done
  for ((n = 0; n < ${#pids[@]}; n++)); do
    if [ -n "${started[n]}" ]; then
      "$SUP_LOG" "warning: ${names[n]} (pid ${pids[n]}) still exists"
    else
      "$SUP_LOG" "stopped ${names[n]} (pid ${pids[n]})"
    fi
  done
}

# sup_strays CHECK... -> "PID NAME" (NAME: the basename of its argv[0]) for
# every process but this shell that passes every CHECK.
sup_strays() {
  local d pid argv0
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    if [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ]; then continue; fi
    sup_is "$pid" "$@" || continue
    { IFS= read -r -d '' argv0 || [ -n "$argv0" ]; } 2>/dev/null <"$d/cmdline" || continue
    printf '%s %s\n' "$pid" "${argv0##*/}"
  done
  return 0
}
