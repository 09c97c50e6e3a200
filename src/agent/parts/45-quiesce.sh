#######################################
# Quiesce: stop, pause or exec through the Docker Engine API (busybox wget, no curl)
#######################################

# docker_call NAME SECONDS METHOD PATH [BODY]: one Docker Engine API call through the socket
# proxy, bounded by `timeout`. The response body goes to RUN_DIR/docker-NAME.out, wget's
# messages to .err; sets DOCKER_OUT and DOCKER_STATUS (the HTTP status, '' when no answer
# came). busybox wget exits 0 on any 2xx (204 No Content included) and 1 on anything else,
# 304 Not Modified too, and names the status only in its -S header dump: callers test the
# status, not the exit code. The call runs in the foreground, so a stop signal waits for it:
# a stop or start request cut short would leave the container's state unknown. Only when
# DOCKER_INTERRUPTIBLE is set (the exec command, which may run for long and has nothing to
# undo) is a stop passed on to wget.
docker_call() {
  _dk_name=$1
  _dk_seconds=$2
  _dk_method=$3
  _dk_path=$4
  _dk_body=${5:-}
  DOCKER_OUT="${RUN_DIR}/docker-${_dk_name}.out"
  _dk_err="${RUN_DIR}/docker-${_dk_name}.err"
  set -- timeout -s TERM -k 5 "${_dk_seconds}" wget -q -S -O "${DOCKER_OUT}"
  if [ "${_dk_method}" = POST ]; then
    set -- "$@" --header 'Content-Type: application/json' --post-data "${_dk_body}"
  fi
  set -- "$@" "${DOCKER_API}${_dk_path}"
  _dk_started=$(clock)
  if [ -n "${DOCKER_INTERRUPTIBLE:-}" ]; then
    "$@" >/dev/null 2>"${_dk_err}" &
    track_child "$!" TERM
    wait_child "${CHILD_PID}"
    _dk_rc=$?
    CHILD_PID=''
  else
    "$@" >/dev/null 2>"${_dk_err}"
    _dk_rc=$?
  fi
  DOCKER_STATUS=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "${_dk_err}" | tail -n 1)
  DOCKER_FAILURE="HTTP ${DOCKER_STATUS}"
  if [ -z "${DOCKER_STATUS}" ]; then
    DOCKER_FAILURE=$(grep -v -e '^ ' -e '^Terminated' -e '^Killed' "${_dk_err}" | tail -n 1 |
      cut -c 1-200)
    if [ -z "${DOCKER_FAILURE}" ] || [ $(($(clock) - _dk_started)) -ge "${_dk_seconds}" ]; then
      DOCKER_FAILURE="no answer within ${_dk_seconds}s"
    fi
    DOCKER_FAILURE="${DOCKER_FAILURE} (${DOCKER_API})"
  fi
  return "${_dk_rc}"
}

# quiesce_acquire: makes the application consistent before its volumes are read, per
# BACKUP_QUIESCE_MODE. Sets QUIESCE_RESULT (ok, failed, skipped; none for mode none),
# QUIESCE_ERROR and QUIESCE_NOTE. For stop and pause, QUIESCE_HELD is set from the moment the
# request is sent (a request that timed out or failed with a 5xx may still have stopped the
# container) until quiesce_release has undone it, and QUIESCE_MARKER records the same on the
# state volume, so that the stop of an agent killed with SIGKILL is undone by the next one
# (quiesce_recover). A 4xx answer means Docker did nothing: nothing to undo then.
quiesce_acquire() {
  [ "${QUIESCE_MODE}" != none ] || return 0
  if [ -n "${INTERRUPTED}" ]; then
    QUIESCE_RESULT=skipped
    return 0
  fi
  _qa_started=$(clock)
  log INFO quiesce "${QUIESCE_MODE} container=${QUIESCE_CONTAINER}"
  case ${QUIESCE_MODE} in
    stop | pause)
      if ! printf '%s %s %s\n' "${QUIESCE_MODE}" "${QUIESCE_CONTAINER}" "$(clock)" \
        >"${QUIESCE_MARKER}"; then
        QUIESCE_RESULT=failed
        QUIESCE_ERROR="cannot write ${QUIESCE_MARKER}; not touching the container"
      else
        QUIESCE_HELD=${QUIESCE_MODE}
        if [ "${QUIESCE_MODE}" = stop ]; then
          # Docker waits t seconds for the container to stop, then kills it.
          docker_call stop $((QUIESCE_TIMEOUT + 30)) POST \
            "/containers/${QUIESCE_CONTAINER}/stop?t=${QUIESCE_TIMEOUT}"
        else
          docker_call pause "${QUIESCE_TIMEOUT}" POST "/containers/${QUIESCE_CONTAINER}/pause"
        fi
        case ${QUIESCE_MODE}:${DOCKER_STATUS} in
          *:204) QUIESCE_RESULT=ok ;;
          stop:304)
            # Not running: consistent as it is, and it stays stopped after the backup.
            QUIESCE_RESULT=ok
            QUIESCE_NOTE='the container was not running; it is left stopped'
            quiesce_forget
            ;;
          *)
            QUIESCE_RESULT=failed
            QUIESCE_ERROR="${QUIESCE_MODE} container ${QUIESCE_CONTAINER}: ${DOCKER_FAILURE}"
            case ${DOCKER_STATUS} in
              4??) quiesce_forget ;;
            esac
            ;;
        esac
      fi
      ;;
    exec) quiesce_exec ;;
  esac
  QUIESCE_SECONDS=$(($(clock) - _qa_started))
  if [ "${QUIESCE_RESULT}" = ok ]; then
    log INFO quiesce "container=${QUIESCE_CONTAINER} ${QUIESCE_MODE} done in" \
      "${QUIESCE_SECONDS}s${QUIESCE_NOTE:+ (${QUIESCE_NOTE})}"
    return 0
  fi
  log ERROR quiesce "${QUIESCE_ERROR}"
  return 1
}

# quiesce_reset: the quiesce outcome of a cycle before anything was tried.
quiesce_reset() {
  QUIESCE_RESULT=none
  QUIESCE_ERROR=''
  QUIESCE_NOTE=''
  QUIESCE_RELEASE=not-needed
  QUIESCE_RELEASE_ERROR=''
  QUIESCE_RELEASE_ATTEMPTS=0
  QUIESCE_SECONDS=0
  QUIESCE_HELD_BEFORE=''
}

# quiesce_forget: nothing is stopped or paused by this agent (any more).
quiesce_forget() {
  QUIESCE_HELD=''
  rm -f "${QUIESCE_MARKER}" || log WARN quiesce "cannot remove ${QUIESCE_MARKER}"
}

# quiesce_exec: runs the command in the container (create an exec instance, start it
# attached and wait for its end, read its exit code), bounded by
# BACKUP_QUIESCE_TIMEOUT_SECONDS. The exec-create body is QUIESCE_EXEC_BODY byte for
# byte (the Docker API proxy accepts no other), or, when that is unset (the agent run by
# hand, without the proxy), built from QUIESCE_COMMAND the same way. The start body
# is fixed: the proxy pins it too. Sets QUIESCE_RESULT and QUIESCE_ERROR.
quiesce_exec() {
  QUIESCE_RESULT=failed
  if [ -n "${QUIESCE_EXEC_BODY:-}" ]; then
    _qe_body=${QUIESCE_EXEC_BODY}
  elif ! _qe_body=$(jq -cn --argjson cmd "${QUIESCE_COMMAND}" \
    '{Cmd: $cmd, AttachStdout: true, AttachStderr: true}'); then
    QUIESCE_ERROR='cannot build the exec request from QUIESCE_COMMAND'
    return 1
  fi
  if ! docker_call exec-create 30 POST "/containers/${QUIESCE_CONTAINER}/exec" "${_qe_body}" ||
    [ "${DOCKER_STATUS}" != 201 ]; then
    QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: ${DOCKER_FAILURE}"
    return 1
  fi
  _qe_id=$(jq -r '.Id // empty' "${DOCKER_OUT}" 2>/dev/null)
  case ${_qe_id} in
    '' | *[!0-9a-fA-F]*)
      QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: no exec id in Docker's answer"
      return 1
      ;;
  esac
  _qe_started=$(clock)
  DOCKER_INTERRUPTIBLE=1
  docker_call exec-start "${QUIESCE_TIMEOUT}" POST "/exec/${_qe_id}/start" \
    '{"Detach":false,"Tty":false}'
  _qe_rc=$?
  DOCKER_INTERRUPTIBLE=''
  if [ "${_qe_rc}" -ne 0 ]; then
    if [ -n "${INTERRUPTED}" ]; then
      QUIESCE_ERROR="interrupted by SIG${INTERRUPTED}"
    elif [ -z "${DOCKER_STATUS}" ] &&
      [ $(($(clock) - _qe_started)) -ge "${QUIESCE_TIMEOUT}" ]; then
      # Docker has no API to stop an exec: say so.
      QUIESCE_ERROR="the command did not finish within ${QUIESCE_TIMEOUT}s"
      QUIESCE_ERROR="${QUIESCE_ERROR} (quiesce.timeoutSeconds); it may still be running"
    else
      QUIESCE_ERROR="exec start: ${DOCKER_FAILURE}"
    fi
    QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: ${QUIESCE_ERROR}"
    return 1
  fi
  # The stream ends when the command does; Docker may report it running for a moment more.
  _qe_try=0
  while :; do
    _qe_try=$((_qe_try + 1))
    if ! docker_call exec-inspect 30 GET "/exec/${_qe_id}/json"; then
      QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: cannot read the exit code:"
      QUIESCE_ERROR="${QUIESCE_ERROR} ${DOCKER_FAILURE}"
      return 1
    fi
    _qe_state=$(jq -r '"\(.Running) \(.ExitCode)"' "${DOCKER_OUT}" 2>/dev/null)
    case ${_qe_state} in
      'false '[0-9]*) break ;;
    esac
    if [ "${_qe_try}" -ge 5 ]; then
      QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: no exit code (state: ${_qe_state})"
      return 1
    fi
    sleep 1
  done
  _qe_code=${_qe_state#false }
  if [ "${_qe_code}" != 0 ]; then
    QUIESCE_ERROR="exec in container ${QUIESCE_CONTAINER}: the command exited with code"
    QUIESCE_ERROR="${QUIESCE_ERROR} ${_qe_code} (its output: ${RUN_DIR}/docker-exec-start.out)"
    return 1
  fi
  QUIESCE_RESULT=ok
  return 0
}
