#######################################
# Cycle lock
#######################################

# hostname_now: this container's host name (changes when the container is re-created).
hostname_now() {
  if [ -r /proc/sys/kernel/hostname ]; then
    read -r _hn_name </proc/sys/kernel/hostname && printf '%s\n' "${_hn_name}" && return 0
  fi
  uname -n
}

# proc_start PID: the process start time (clock ticks since boot), so that a recycled PID
# is not mistaken for the lock holder. Fails for a process that is gone or a zombie.
proc_start() {
  [ -r "/proc/$1/stat" ] || return 1
  read -r _ps_line <"/proc/$1/stat" || return 1
  _ps_rest=${_ps_line##*) }
  # shellcheck disable=SC2086 # split the fields on purpose
  set -- ${_ps_rest}
  [ "$#" -ge 20 ] || return 1
  case $1 in
    Z | X) return 1 ;;
  esac
  shift 19
  printf '%s\n' "$1"
}

# lock_is_stale: true when the holder recorded in LOCK_DIR/owner is gone. A holder on another
# host name (a re-created container) cannot be checked and counts as gone after
# LOCK_FOREIGN_SECONDS, the longest a cycle can last. Sets LOCK_OWNER for messages.
lock_is_stale() {
  LOCK_OWNER='unknown'
  if [ ! -r "${LOCK_DIR}/owner" ]; then
    # Just created by another process that has not written its owner file yet, or left by
    # a process killed in between: only the latter lasts.
    [ -n "$(find "${LOCK_DIR}" -maxdepth 0 -mmin +1 2>/dev/null)" ]
    return
  fi
  read -r _ls_pid _ls_start _ls_host _ls_epoch <"${LOCK_DIR}/owner" || return 1
  LOCK_OWNER="pid ${_ls_pid} on ${_ls_host:-?} since $(iso_utc "${_ls_epoch:-0}" 2>/dev/null)"
  if [ "${_ls_host:-}" = "$(hostname_now)" ]; then
    is_uint "${_ls_pid:-}" || return 0
    _ls_now_start=$(proc_start "${_ls_pid}") || return 0
    [ "${_ls_now_start}" != "${_ls_start:-}" ]
    return
  fi
  is_uint "${_ls_epoch:-}" || return 0
  [ $(($(clock) - _ls_epoch)) -gt "${LOCK_FOREIGN_SECONDS}" ]
}

# lock_acquire: takes the cycle lock (a directory: mkdir is atomic). Returns 0 taken,
# 1 held by a live cycle (LOCK_OWNER says which), 2 cannot create it.
lock_acquire() {
  LOCK_DIR="${STATE_DIR}/run.lock"
  # The restic calls a cycle can make per target, each bounded by NETWORK_TIMEOUT: open, init,
  # unlock, backup, snapshots, forget (plan and ids), check, prune, drill (snapshots and
  # restore), a replica's check; the hour covers quiesce, manifest and the rest.
  LOCK_FOREIGN_SECONDS=$((NETWORK_TIMEOUT * (12 * TARGET_COUNT + 2) + 3600))
  _la_try=0
  while [ "${_la_try}" -lt 3 ]; do
    _la_try=$((_la_try + 1))
    if mkdir "${LOCK_DIR}" 2>/dev/null; then
      LOCK_HELD=1
      _la_start=$(proc_start "$$") || _la_start=0
      if ! printf '%s %s %s %s\n' "$$" "${_la_start}" "$(hostname_now)" "$(clock)" \
        >"${LOCK_DIR}/owner"; then
        log ERROR lock "cannot write ${LOCK_DIR}/owner"
        lock_release
        return 2
      fi
      return 0
    fi
    if [ ! -d "${LOCK_DIR}" ]; then
      log ERROR lock "cannot create ${LOCK_DIR}; is ${STATE_DIR} a writable volume?"
      return 2
    fi
    lock_is_stale || return 1
    # Break the stale lock under a second lock, so that two agents cannot both break it and
    # one of them remove the fresh lock of the other.
    if mkdir "${LOCK_DIR}.break" 2>/dev/null; then
      if lock_is_stale; then
        log WARN lock "removing the stale cycle lock of ${LOCK_OWNER}"
        if ! rm -rf "${LOCK_DIR}"; then
          log ERROR lock "cannot remove the stale lock ${LOCK_DIR}"
          rmdir "${LOCK_DIR}.break" || true
          return 2
        fi
      fi
      rmdir "${LOCK_DIR}.break" || log WARN lock "cannot remove ${LOCK_DIR}.break"
    elif [ -n "$(find "${LOCK_DIR}.break" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
      log WARN lock "removing ${LOCK_DIR}.break left by a killed agent"
      rmdir "${LOCK_DIR}.break" || true
    fi
  done
  return 1
}

# lock_release: removes the lock when this process holds it.
lock_release() {
  [ -n "${LOCK_HELD}" ] || return 0
  LOCK_HELD=''
  rm -rf "${LOCK_DIR}" || log WARN lock "cannot remove ${LOCK_DIR}"
}

# on_exit: EXIT trap of every command.
# shellcheck disable=SC2317 # invoked by trap
on_exit() {
  # Whatever path led here (an unexpected exit, a failed step), never leave the application
  # stopped or paused.
  if [ -n "${QUIESCE_HELD}" ]; then
    quiesce_release || true
  fi
  lock_release
  if [ -n "${TMP_WORK}" ]; then
    rm -rf "${TMP_WORK}" || true
  fi
}
