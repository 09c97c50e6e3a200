# quiesce_release: undoes a stop (start) or pause (unpause), retrying with growing delays
# (1, 2, 4, ... s) up to BACKUP_QUIESCE_RELEASE_ATTEMPTS times: a Docker API hiccup must not
# leave the application down. Start answers 304 when the container runs already, unpause
# 409 when it is not paused: nothing left to undo either way. Runs in the foreground, so a
# stop signal waits for it. Sets QUIESCE_RELEASE (ok, failed), QUIESCE_RELEASE_ERROR and
# QUIESCE_RELEASE_ATTEMPTS. When every attempt failed, the marker stays for the next agent.
quiesce_release() {
  [ -n "${QUIESCE_HELD}" ] || return 0
  if [ "${QUIESCE_HELD}" = stop ]; then
    _qr_action=start
    _qr_state=stopped
  else
    _qr_action=unpause
    _qr_state=paused
  fi
  _qr_delay=${RELEASE_FIRST_DELAY}
  QUIESCE_RELEASE_ATTEMPTS=0
  while :; do
    QUIESCE_RELEASE_ATTEMPTS=$((QUIESCE_RELEASE_ATTEMPTS + 1))
    docker_call "${_qr_action}" $((QUIESCE_TIMEOUT + 10)) POST \
      "/containers/${QUIESCE_CONTAINER}/${_qr_action}"
    case ${_qr_action}:${DOCKER_STATUS} in
      start:204 | start:304 | unpause:204 | unpause:409)
        quiesce_forget
        QUIESCE_RELEASE=ok
        log INFO release "container=${QUIESCE_CONTAINER} ${_qr_action} done (HTTP" \
          "${DOCKER_STATUS}, attempt ${QUIESCE_RELEASE_ATTEMPTS})"
        return 0
        ;;
    esac
    QUIESCE_RELEASE_ERROR="${_qr_action} container ${QUIESCE_CONTAINER}: ${DOCKER_FAILURE}"
    [ "${QUIESCE_RELEASE_ATTEMPTS}" -lt "${RELEASE_ATTEMPTS}" ] || break
    log WARN release "${QUIESCE_RELEASE_ERROR}; retrying in ${_qr_delay}s (attempt" \
      "${QUIESCE_RELEASE_ATTEMPTS} of ${RELEASE_ATTEMPTS})"
    sleep "${_qr_delay}"
    _qr_delay=$((_qr_delay * 2))
  done
  QUIESCE_HELD=''
  QUIESCE_RELEASE=failed
  QUIESCE_RELEASE_ERROR="${QUIESCE_RELEASE_ERROR} after ${QUIESCE_RELEASE_ATTEMPTS} attempts"
  log ERROR release "${QUIESCE_RELEASE_ERROR}; container ${QUIESCE_CONTAINER} is still" \
    "${_qr_state}: run 'docker ${_qr_action} ${QUIESCE_CONTAINER}'. The next cycle tries again"
  return 1
}

# quiesce_recover: undoes the stop or pause recorded in QUIESCE_MARKER by an agent that did
# not get to undo it (killed with SIGKILL, or the sidecar re-created meanwhile). Called under
# the cycle lock, so the marker cannot belong to a running cycle.
quiesce_recover() {
  [ -f "${QUIESCE_MARKER}" ] || return 0
  _qc_line=''
  read -r _qc_line <"${QUIESCE_MARKER}" || true
  set -f
  # shellcheck disable=SC2086 # mode, container name, epoch
  set -- ${_qc_line}
  set +f
  case ${1:-}:${2:-} in
    stop:?* | pause:?*) ;;
    *)
      log WARN quiesce "ignoring ${QUIESCE_MARKER}: unreadable ('${_qc_line}')"
      rm -f "${QUIESCE_MARKER}" || true
      return 0
      ;;
  esac
  case $2 in
    *[!A-Za-z0-9._-]*)
      log WARN quiesce "ignoring ${QUIESCE_MARKER}: bad container name '$2'"
      rm -f "${QUIESCE_MARKER}" || true
      return 0
      ;;
  esac
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
  QUIESCE_CONTAINER=$2
  QUIESCE_HELD=$1
  quiesce_release
}

# quiesce_json: the status.json `quiesce` section of this cycle.
quiesce_json() {
  jq -cn --arg mode "${QUIESCE_MODE}" --arg container "${QUIESCE_CONTAINER:-}" \
    --arg result "${QUIESCE_RESULT}" --arg on_error "${QUIESCE_ON_ERROR:-}" \
    --arg error "${QUIESCE_ERROR}" --arg note "${QUIESCE_NOTE}" \
    --arg release "${QUIESCE_RELEASE}" --arg release_error "${QUIESCE_RELEASE_ERROR}" \
    --argjson attempts "${QUIESCE_RELEASE_ATTEMPTS}" --argjson seconds "${QUIESCE_SECONDS}" '
      def str: (if . == "" then null else . end);
      {mode: $mode, container: ($container | str), result: $result,
       consistency: (if $result == "ok" then "application"
         elif $result == "failed" and $on_error == "abort" then null
         else "crash" end),
       on_error: ($on_error | str), error: ($error | str), note: ($note | str),
       duration_seconds: $seconds, release: $release, release_attempts: $attempts,
       release_error: ($release_error | str)}'
}
