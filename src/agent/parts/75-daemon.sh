#######################################
# daemon
#######################################

# This script, which the daemon runs for each cycle.
readonly AGENT_SELF="$0"

# daemon_cycle COMMAND: runs `run` (or `due`) as a child process (own PID for the lock, own
# exit code) and waits for it; a SIGTERM to the daemon is passed on to it.
daemon_cycle() {
  sh "${AGENT_SELF}" "$1" &
  await_child "$!" TERM
  _dc_rc=$?
  if [ "$1" = run ]; then
    log INFO daemon "cycle finished with exit code ${_dc_rc}"
  else
    log INFO daemon "due work finished with exit code ${_dc_rc}"
  fi
}

# The daemon wakes at every minute boundary. Each maintenance schedule that matches marks
# its work due (daemon_mark_due): prune and check on every target, retention (with
# a retention schedule) on every target, the restore drill. A backup cycle starting that
# minute does the due work after its backups; otherwise the daemon starts `due` for the prune
# and check (the drill waits for the next backup: it compares with checksums taken then).
# Due work that cannot be done (the cycle lock or a repository lock is held, a target is
# unreachable) stays due, and the next cycle does it: a slot missed is made up by the next
# cycle, never skipped.
cmd_daemon() {
  log INFO daemon "started; schedule='${SCHEDULE}' TZ=${TZ} host=${HOST}" \
    "prune='${PRUNE_SCHEDULE}' check='${CHECK_SCHEDULE}' drill='${DRILL_SCHEDULE}'" \
    "retention='${RETENTION_SCHEDULE:-after every backup}' quiesce=${QUIESCE_MODE}"
  if [ -f "${QUIESCE_MARKER}" ]; then
    log WARN daemon "an earlier agent left container state to undo (${QUIESCE_MARKER})"
    daemon_cycle due
  fi
  if [ "${RUN_ON_START}" = true ]; then
    log INFO daemon "runOnStart: running a cycle now"
    daemon_cycle run
  fi
  _d_last=$(($(clock) / 60 * 60))
  while [ -z "${INTERRUPTED}" ]; do
    # Sleep towards the next minute boundary in steps of at most 5 s. A stop signal passed on
    # to a child that was just forked can be lost (busybox ash: it lands before the child
    # resets the handlers it inherited), and the daemon would sleep out the minute: with short
    # steps it notices the stop within 5 s whatever happened to the kill.
    _d_now=$(clock)
    _d_left=$((60 - _d_now % 60))
    [ "${_d_left}" -le 5 ] || _d_left=5
    sleep "${_d_left}" &
    await_child "$!" TERM
    [ -z "${INTERRUPTED}" ] || break
    _d_minute=$(($(clock) / 60 * 60))
    [ "${_d_minute}" != "${_d_last}" ] || continue
    _d_last=${_d_minute}
    daemon_mark_due "${_d_minute}"
    if cron_matches "${SCHEDULE_SETS}" "${_d_minute}"; then
      log INFO daemon "schedule matches $(iso_utc "${_d_minute}"); starting a cycle"
      daemon_cycle run
    elif [ -n "${DUE_MARKED}" ]; then
      daemon_cycle due
    fi
  done
  log INFO daemon "stopped"
  return "${EX_OK}"
}

# daemon_mark_due MINUTE: marks due the maintenance whose schedule matches MINUTE; sets
# DUE_MARKED when a prune or check (work for `due`) was marked.
daemon_mark_due() {
  DUE_MARKED=''
  ! due_on_schedule prune "${PRUNE_SETS}" "$1" 'prune due on every target' || DUE_MARKED=1
  ! due_on_schedule check "${CHECK_SETS}" "$1" 'check due on every target' || DUE_MARKED=1
  due_on_schedule retention "${RETENTION_SETS}" "$1" 'due after the next backup' || true
  due_on_schedule drill "${DRILL_SETS}" "$1" 'restore drill due after the next backup' || true
}

# due_on_schedule WORK SETS MINUTE DUE: when WORK's schedule (SETS) matches MINUTE, logs so with
# DUE (what is due when) and marks WORK due (the drill once, the rest on every target); fails
# when it does not match.
due_on_schedule() {
  [ -n "$2" ] && cron_matches "$2" "$3" || return 1
  log INFO daemon "$1 schedule matches $(iso_utc "$3"); $4"
  if [ "$1" = drill ]; then
    mark_due drill
  else
    # shellcheck disable=SC2046 # target names: letters, digits, '.', '_', '-'
    mark_due $(due_markers "$1")
  fi || log ERROR daemon "cannot mark the $1 due in ${DUE_DIR}"
}

# due_markers WORK: the due-marker names of WORK (prune, check, retention) on every target;
# append-only targets have no prune or retention.
due_markers() {
  for _dm_i in ${TARGET_INDEXES}; do
    [ "$1" = check ] || ! append_only "${_dm_i}" ||
      continue
    printf '%s.%s\n' "$1" "$(target_get "${_dm_i}" NAME)"
  done
}
