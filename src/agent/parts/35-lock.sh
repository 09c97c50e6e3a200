#######################################
# Cycle lock
#######################################

# Whether this process holds the cycle lock.
LOCK_HELD=''

# hostname_now: this container's host name (changes when the container is re-created).
hostname_now() {
  [ -r /proc/sys/kernel/hostname ] && read -r _hn_name </proc/sys/kernel/hostname &&
    printf '%s\n' "${_hn_name}" && return 0
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
  case $1 in Z | X) return 1 ;; esac
  shift 19
  printf '%s\n' "$1"
}

# lock_is_stale: true when the holder in LOCK_DIR/owner is gone; one on another host (a
# re-created container) after LOCK_FOREIGN_SECONDS, the longest a cycle lasts. Sets LOCK_OWNER.
lock_is_stale() {
  LOCK_OWNER='unknown'
  if [ ! -r "${LOCK_DIR}/owner" ]; then
    # Being created by another process, or left by one killed before it wrote its owner.
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
  # 12 restic calls at most per target (backup, init and backup again, forget, prune, check,
  # the drill's listing and restore, a replica's check, and an unlock and retry of a locked
  # one), plus an hour.
  LOCK_FOREIGN_SECONDS=$((NETWORK_TIMEOUT * (12 * TARGET_COUNT + 2) + 3600))
  for _la_try in 1 2 3; do
    if mkdir "${LOCK_DIR}" 2>/dev/null; then
      LOCK_HELD=1
      _la_start=$(proc_start "$$") || _la_start=0
      printf '%s %s %s %s\n' "$$" "${_la_start}" "$(hostname_now)" "$(clock)" \
        >"${LOCK_DIR}/owner" && return 0
      log ERROR lock "cannot write ${LOCK_DIR}/owner"
      lock_release
      return 2
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

# on_exit: EXIT trap of every command. Whatever led here, never leaves the application
# stopped or paused.
# shellcheck disable=SC2317 # invoked by trap
on_exit() {
  [ -z "${QUIESCE_HELD}" ] || quiesce_release || true
  lock_release
  [ -z "${TMP_WORK}" ] || rm -rf "${TMP_WORK}" || true
}
