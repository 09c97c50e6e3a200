#######################################
# Quiesce: stop, pause or exec through the Docker Engine API (busybox wget, no curl)
#######################################

# What the quiesce step stopped or paused and has not undone yet ('' when nothing).
QUIESCE_HELD=''
# The container quiesce acts on: the plan's quiesce.container, a service's task on this node
# (quiesce_find_task), or the one an earlier agent left stopped or paused (quiesce_recover).
QUIESCED_CONTAINER=''

# docker_call NAME SECONDS METHOD PATH [BODY]: one Docker Engine API call, bounded by
# `timeout`; sets DOCKER_OUT (the body), DOCKER_STATUS (HTTP status, '' without an answer:
# busybox wget exits 1 on a 304 too) and DOCKER_FAILURE. In the foreground, as a stop or
# start cut short would leave the container's state unknown, unless DOCKER_INTERRUPTIBLE.
docker_call() {
  DOCKER_OUT="${RUN_DIR}/docker-$1.out" _dk_err="${RUN_DIR}/docker-$1.err"
  _dk_seconds=$2 _dk_method=$3 _dk_url="${DOCKER_API}$4" _dk_body=${5:-}
  set -- timeout -s TERM -k 5 "${_dk_seconds}" wget -q -S -O "${DOCKER_OUT}"
  [ "${_dk_method}" != POST ] ||
    set -- "$@" --header 'Content-Type: application/json' --post-data "${_dk_body}"
  set -- "$@" "${_dk_url}"
  _dk_started=$(clock)
  if [ -n "${DOCKER_INTERRUPTIBLE:-}" ]; then
    "$@" >/dev/null 2>"${_dk_err}" &
    await_child "$!" TERM
  else
    "$@" >/dev/null 2>"${_dk_err}"
  fi
  _dk_rc=$?
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

# quiesce_reset: the quiesce outcome of a cycle before anything was tried.
# shellcheck disable=SC2153 # QUIESCE_CONTAINER: a plan setting (plan_load's eval)
quiesce_reset() {
  QUIESCE_RESULT=none QUIESCE_ERROR='' QUIESCE_NOTE='' QUIESCE_SECONDS=0 QUIESCE_HELD_BEFORE=''
  QUIESCE_RELEASE=not-needed QUIESCE_RELEASE_ERROR='' QUIESCE_RELEASE_ATTEMPTS=0
  QUIESCED_CONTAINER=${QUIESCE_CONTAINER}
}

# quiesce_skipped ERROR: the cycle does not quiesce (its backup is not attempted), for ERROR.
quiesce_skipped() {
  QUIESCE_RESULT=skipped QUIESCE_ERROR=$1
}

# quiesce_acquire: makes the application consistent per quiesce.mode; sets QUIESCE_RESULT,
# _ERROR and _NOTE. A stop or pause is held (QUIESCE_HELD, and QUIESCE_MARKER for the next
# agent should this one be killed) from the moment it is sent: one that timed out or got a
# 5xx may still have been done. A 4xx means Docker did nothing.
# shellcheck disable=SC2153 # QUIESCE_MODE: a plan setting (plan_load's eval)
quiesce_acquire() {
  [ "${QUIESCE_MODE}" != none ] || return 0
  [ -z "${INTERRUPTED}" ] || { QUIESCE_RESULT=skipped && return 0; }
  _qa_started=$(clock)
  if [ -n "${QUIESCE_SERVICE}" ] && ! quiesce_find_task; then
    QUIESCE_RESULT=failed QUIESCE_SECONDS=$(($(clock) - _qa_started))
    log ERROR quiesce "${QUIESCE_ERROR}"
    return 1
  fi
  log INFO quiesce "${QUIESCE_MODE} container=${QUIESCED_CONTAINER}"
  if [ "${QUIESCE_MODE}" = exec ]; then
    quiesce_exec
  elif ! printf '%s %s %s\n' "${QUIESCE_MODE}" "${QUIESCED_CONTAINER}" "$(clock)" \
    >"${QUIESCE_MARKER}"; then
    QUIESCE_RESULT=failed
    QUIESCE_ERROR="cannot write ${QUIESCE_MARKER}; not touching the container"
  else
    QUIESCE_HELD=${QUIESCE_MODE} QUIESCE_RESULT=ok
    if [ "${QUIESCE_MODE}" = stop ]; then
      # Docker waits t seconds for the container to stop, then kills it.
      docker_call stop $((QUIESCE_TIMEOUT + 30)) POST \
        "/containers/${QUIESCED_CONTAINER}/stop?t=${QUIESCE_TIMEOUT}"
    else
      docker_call pause "${QUIESCE_TIMEOUT}" POST "/containers/${QUIESCED_CONTAINER}/pause"
    fi
    case ${QUIESCE_MODE}:${DOCKER_STATUS} in
      *:204) ;;
      stop:304)
        # Not running: consistent as it is, and it stays stopped after the backup.
        QUIESCE_NOTE='the container was not running; it is left stopped'
        quiesce_forget
        ;;
      *)
        QUIESCE_RESULT=failed
        QUIESCE_ERROR="${QUIESCE_MODE} container ${QUIESCED_CONTAINER}: ${DOCKER_FAILURE}"
        case ${DOCKER_STATUS} in 4??) quiesce_forget ;; esac
        ;;
    esac
  fi
  QUIESCE_SECONDS=$(($(clock) - _qa_started))
  [ "${QUIESCE_RESULT}" = ok ] || { log ERROR quiesce "${QUIESCE_ERROR}" && return 1; }
  log INFO quiesce "container=${QUIESCED_CONTAINER} ${QUIESCE_MODE} done in" \
    "${QUIESCE_SECONDS}s${QUIESCE_NOTE:+ (${QUIESCE_NOTE})}"
}

# quiesce_find_task: a swarm service's task on this node (its container name changes whenever
# swarm replaces the task), listed by the one query the proxy allows (quiesce.taskListPath:
# this service's running containers; the node's daemon knows only its own). Sets
# QUIESCED_CONTAINER, or QUIESCE_ERROR.
# shellcheck disable=SC2016 # a jq program
quiesce_find_task() {
  if ! docker_call tasks 30 GET "${QUIESCE_TASKS}" || [ "${DOCKER_STATUS}" != 200 ]; then
    QUIESCE_ERROR="cannot list the tasks of service ${QUIESCE_SERVICE}: ${DOCKER_FAILURE}"
    return 1
  fi
  QUIESCED_CONTAINER=$(jq -r --arg s "${QUIESCE_SERVICE}" '[.[]
    | select(.State == "running" and .Labels["com.docker.swarm.service.name"] == $s)
    | .Names[0] | ltrimstr("/")] | first // empty' "${DOCKER_OUT}" 2>/dev/null)
  case ${QUIESCED_CONTAINER} in
    "${QUIESCE_SERVICE}".*) return 0 ;;
  esac
  QUIESCE_ERROR="no running task of service ${QUIESCE_SERVICE} on this node"
  QUIESCED_CONTAINER=''
  return 1
}

# quiesce_forget: nothing is stopped or paused by this agent (any more).
quiesce_forget() {
  QUIESCE_HELD=''
  rm -f "${QUIESCE_MARKER}" || log WARN quiesce "cannot remove ${QUIESCE_MARKER}"
}

# quiesce_exec: runs the command in the container (exec create, start attached, inspect).
# The create body is QUIESCE_EXEC_BODY byte for byte (the Docker API proxy pins it, and the
# start body), or, without a proxy, built from QUIESCE_COMMAND.
quiesce_exec() {
  QUIESCE_RESULT=failed
  if [ -n "${QUIESCE_EXEC_BODY:-}" ]; then
    _qe_body=${QUIESCE_EXEC_BODY}
  elif ! _qe_body=$(jq -cn --argjson cmd "${QUIESCE_COMMAND}" \
    '{Cmd: $cmd, AttachStdout: true, AttachStderr: true}'); then
    QUIESCE_ERROR='cannot build the exec request from QUIESCE_COMMAND'
    return 1
  fi
  if ! docker_call exec-create 30 POST "/containers/${QUIESCED_CONTAINER}/exec" "${_qe_body}" ||
    [ "${DOCKER_STATUS}" != 201 ]; then
    exec_failed "${DOCKER_FAILURE}"
    return
  fi
  _qe_id=$(jq -r '.Id // empty' "${DOCKER_OUT}" 2>/dev/null)
  case ${_qe_id} in
    '' | *[!0-9a-fA-F]*) exec_failed "no exec id in Docker's answer" || return ;;
  esac
  _qe_started=$(clock)
  DOCKER_INTERRUPTIBLE=1
  docker_call exec-start "${QUIESCE_TIMEOUT}" POST "/exec/${_qe_id}/start" \
    '{"Detach":false,"Tty":false}'
  _qe_rc=$?
  DOCKER_INTERRUPTIBLE=''
  if [ "${_qe_rc}" -ne 0 ]; then
    if [ -n "${INTERRUPTED}" ]; then
      exec_failed "interrupted by SIG${INTERRUPTED}"
    elif [ -z "${DOCKER_STATUS}" ] &&
      [ $(($(clock) - _qe_started)) -ge "${QUIESCE_TIMEOUT}" ]; then
      # Docker has no API to stop an exec: say so.
      exec_failed "the command did not finish within ${QUIESCE_TIMEOUT}s" \
        "(quiesce.timeoutSeconds); it may still be running"
    else
      exec_failed "exec start: ${DOCKER_FAILURE}"
    fi
    return
  fi
  # The stream ends when the command does; Docker may report it running for a moment more.
  for _qe_try in 1 2 3 4 5; do
    docker_call exec-inspect 30 GET "/exec/${_qe_id}/json" ||
      exec_failed "cannot read the exit code: ${DOCKER_FAILURE}" || return
    _qe_state=$(jq -r '"\(.Running) \(.ExitCode)"' "${DOCKER_OUT}" 2>/dev/null)
    case ${_qe_state} in 'false '[0-9]*) break ;; esac
    [ "${_qe_try}" -lt 5 ] || exec_failed "no exit code (state: ${_qe_state})" || return
    sleep 1
  done
  if [ "${_qe_state}" != 'false 0' ]; then
    exec_failed "the command exited with code ${_qe_state#false } (its output:" \
      "${RUN_DIR}/docker-exec-start.out)"
    return
  fi
  # Exit 0 is not enough: the dump it was to write must be there, and new (47-content.sh).
  dump_check "${_qe_started}" || return
  QUIESCE_RESULT=ok
}

# exec_failed WORDS...: sets QUIESCE_ERROR for a failed exec; returns 1.
exec_failed() {
  QUIESCE_ERROR="exec in container ${QUIESCED_CONTAINER}: $*"
  return 1
}

# quiesce_release: undoes a stop or pause, retrying with doubling delays: a Docker API hiccup
# must not leave the application down (304 to start, 409 to unpause: nothing left to undo).
# Sets QUIESCE_RELEASE, _ERROR and _ATTEMPTS; after the last failure the marker stays.
quiesce_release() {
  [ -n "${QUIESCE_HELD}" ] || return 0
  _qr_action=unpause _qr_state=paused _qr_delay=${RELEASE_FIRST_DELAY}
  [ "${QUIESCE_HELD}" != stop ] || _qr_action=start _qr_state=stopped
  QUIESCE_RELEASE_ATTEMPTS=0
  while :; do
    QUIESCE_RELEASE_ATTEMPTS=$((QUIESCE_RELEASE_ATTEMPTS + 1))
    docker_call "${_qr_action}" $((QUIESCE_TIMEOUT + 10)) POST \
      "/containers/${QUIESCED_CONTAINER}/${_qr_action}"
    case ${_qr_action}:${DOCKER_STATUS} in
      start:204 | start:304 | unpause:204 | unpause:409)
        quiesce_forget
        QUIESCE_RELEASE=ok
        log INFO release "container=${QUIESCED_CONTAINER} ${_qr_action} done (HTTP" \
          "${DOCKER_STATUS}, attempt ${QUIESCE_RELEASE_ATTEMPTS})"
        return 0
        ;;
    esac
    QUIESCE_RELEASE_ERROR="${_qr_action} container ${QUIESCED_CONTAINER}: ${DOCKER_FAILURE}"
    [ "${QUIESCE_RELEASE_ATTEMPTS}" -lt "${RELEASE_ATTEMPTS}" ] || break
    log WARN release "${QUIESCE_RELEASE_ERROR}; retrying in ${_qr_delay}s (attempt" \
      "${QUIESCE_RELEASE_ATTEMPTS} of ${RELEASE_ATTEMPTS})"
    sleep "${_qr_delay}"
    _qr_delay=$((_qr_delay * 2))
  done
  QUIESCE_HELD='' QUIESCE_RELEASE=failed
  QUIESCE_RELEASE_ERROR="${QUIESCE_RELEASE_ERROR} after ${QUIESCE_RELEASE_ATTEMPTS} attempts"
  log ERROR release "${QUIESCE_RELEASE_ERROR}; container ${QUIESCED_CONTAINER} is still" \
    "${_qr_state}: run 'docker ${_qr_action} ${QUIESCED_CONTAINER}'. The next cycle tries again"
  return 1
}

# quiesce_recover: undoes the stop or pause in QUIESCE_MARKER, left by an agent that was
# killed (under the cycle lock, so it cannot be a running cycle's).
quiesce_recover() {
  [ -f "${QUIESCE_MARKER}" ] || return 0
  _qc_line=''
  read -r _qc_line <"${QUIESCE_MARKER}" || true
  set -f
  # shellcheck disable=SC2086 # mode, container name, epoch
  set -- ${_qc_line}
  set +f
  _qc_bad="unreadable ('${_qc_line}')"
  case ${1:-}:${2:-} in
    stop:*[!A-Za-z0-9._-]* | pause:*[!A-Za-z0-9._-]*) _qc_bad="bad container name '$2'" ;;
    stop:?* | pause:?*) _qc_bad='' ;;
  esac
  if [ -n "${_qc_bad}" ]; then
    log WARN quiesce "ignoring ${QUIESCE_MARKER}: ${_qc_bad}"
    rm -f "${QUIESCE_MARKER}" || true
    return 0
  fi
  QUIESCE_HELD_BEFORE=stopped
  [ "$1" = stop ] || QUIESCE_HELD_BEFORE=paused
  if [ "${QUIESCE_MODE}" = none ]; then
    QUIESCE_RELEASE=failed
    QUIESCE_RELEASE_ERROR="container $2 was left ${QUIESCE_HELD_BEFORE} by an agent that did"
    QUIESCE_RELEASE_ERROR="${QUIESCE_RELEASE_ERROR} not finish, and quiesce.mode=none"
    QUIESCE_RELEASE_ERROR="${QUIESCE_RELEASE_ERROR} gives no Docker API to undo it"
    log ERROR quiesce "${QUIESCE_RELEASE_ERROR}: run 'docker start $2' (or 'docker unpause" \
      "$2'), then remove ${QUIESCE_MARKER}"
    return 1
  fi
  log WARN quiesce "container $2 was left ${QUIESCE_HELD_BEFORE} by an agent that did not" \
    "finish (since $(iso_utc "${3:-0}" 2>/dev/null)); undoing it now"
  QUIESCED_CONTAINER=$2 QUIESCE_HELD=$1
  quiesce_release
}

# The jq definition of the status.json `quiesce` section, from $quiesce, quiesce_fields' text.
# shellcheck disable=SC2016 # a jq program
readonly QUIESCE_SECTION='
def quiesce_section: $quiesce | split("\u001f")
  | {mode: .[0], container: (.[1] | str), result: .[2],
     consistency: (if .[2] == "ok" then "application"
       elif .[2] == "failed" and .[3] == "abort" then null else "crash" end),
     on_error: (.[3] | str), error: (.[4] | str), note: (.[5] | str),
     duration_seconds: (.[6] | num), release: .[7], release_attempts: (.[8] | num),
     release_error: (.[9] | str)};
'

# quiesce_fields: the quiesce outcome of this cycle as one string (fields separated by the
# unit separator, 0x1f), for jq's quiesce_section: no jq call of its own.
quiesce_fields() {
  printf '%s\037' "${QUIESCE_MODE}" "${QUIESCED_CONTAINER:-}" "${QUIESCE_RESULT}" \
    "${QUIESCE_ON_ERROR:-}" "${QUIESCE_ERROR}" "${QUIESCE_NOTE}" "${QUIESCE_SECONDS}" \
    "${QUIESCE_RELEASE}" "${QUIESCE_RELEASE_ATTEMPTS}" "${QUIESCE_RELEASE_ERROR}"
}
