#######################################
# Notification
#######################################

# notify_failure KIND: POSTs a small JSON report (host, state, the failed targets, quiesce,
# content and verification outcome, an excerpt of status.json) to the webhook in
# notify.urlFile, bounded by notify.timeoutSeconds. A webhook that fails is logged and
# recorded in status.json, and never fails the cycle. The URL carries the webhook's secret:
# never logged, never in a process's arguments (world-readable in /proc/PID/cmdline), so not
# busybox wget. Instead `nc HOST PORT -e` hands the socket to `ssl_client -s FD -n HOST` (what
# Alpine's wget runs for https; it verifies the certificate), which sends the request from a
# 0600 file. https only: over http:// the token would cross the network in clear.
notify_failure() {
  [ -n "${NOTIFY_URL_FILE}" ] || return 0
  _nt_request="${RUN_DIR}/notify.request" _nt_answer="${RUN_DIR}/notify.out"
  if ! notify_url_parse; then
    notify_record failed "${NOTIFY_URL_ERROR}"
    return 0
  elif ! _nt_body=$(jq -c --arg kind "$1" --arg at "$(iso_utc "$(now_epoch)")" '
      {host, kind: $kind, at: $at, state,
       failed_targets: [.targets[]? | select(.result != "ok") | {name, result, error}],
       quiesce: (.quiesce // null
         | if . == null then null else {mode, result, error, release, release_error} end),
       content: (.content // null
         | if . == null then null
           else {result, at, problems: [.problems[]? | {kind, path, error, fix}]} end),
       verification: (.verification // null | if . == null then null else {state, errors} end),
       status: {started_at, finished_at, last_success_at}}' "${STATUS_FILE}"); then
    notify_record failed "cannot build the report from ${STATUS_FILE}"
    return 0
  elif ! (
    umask 077
    printf 'POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: backup-agent\r\n' \
      "${NOTIFY_PATH}" "${NOTIFY_HOST_HEADER}"
    printf 'Content-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n' \
      "$(printf '%s' "${_nt_body}" | wc -c | tr -d ' ')"
    [ -z "${NOTIFY_USERINFO}" ] || printf 'Authorization: Basic %s\r\n' \
      "$(printf '%s' "${NOTIFY_USERINFO}" | base64 | tr -d '\n')"
    printf '\r\n%s' "${_nt_body}"
  ) >"${_nt_request}"; then
    rm -f "${_nt_request}"
    notify_record failed "cannot write the request to ${RUN_DIR}"
    return 0
  fi
  : >"${_nt_answer}"
  _nt_started=$(clock)
  # shellcheck disable=SC2016 # a script for nc -e, with its own positional parameters
  timeout -s TERM -k 2 "${NOTIFY_TIMEOUT}" nc -w "${NOTIFY_TIMEOUT}" "${NOTIFY_HOST}" \
    "${NOTIFY_PORT}" -e sh -c 'exec 3<&0 && exec ssl_client -s 3 -n "$0" <"$1" >"$2"' \
    "${NOTIFY_HOST}" "${_nt_request}" "${_nt_answer}" >/dev/null 2>"${RUN_DIR}/notify.err"
  _nt_rc=$?
  rm -f "${_nt_request}"
  _nt_status=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "${_nt_answer}")
  case ${_nt_status} in
    2??) notify_record ok "HTTP ${_nt_status}" ;;
    ?*) notify_record failed "HTTP ${_nt_status}" ;;
  esac
  [ -z "${_nt_status}" ] || return 0
  # nc and ssl_client name the host at most; drop anything URL-shaped all the same.
  _nt_why=$(grep -v -e '^Terminated' -e '^Killed' "${RUN_DIR}/notify.err" |
    tail -n 1 | sed 's#[a-z]*://[^ ]*#<url>#g' | cut -c 1-200)
  [ $(($(clock) - _nt_started)) -lt "${NOTIFY_TIMEOUT}" ] ||
    _nt_why="no answer within ${NOTIFY_TIMEOUT}s"
  notify_record failed "${_nt_why:-no answer from ${NOTIFY_HOST}:${NOTIFY_PORT} (exit ${_nt_rc})}"
}

# notify_url_parse: reads NOTIFY_URL_FILE and sets NOTIFY_HOST, NOTIFY_PORT, NOTIFY_PATH
# (path and query, with the token), NOTIFY_HOST_HEADER and NOTIFY_USERINFO. Refuses anything
# but https://HOST[:PORT][/PATH] (NOTIFY_URL_ERROR says why, without the URL).
notify_url_parse() {
  _nu_url=''
  [ ! -r "${NOTIFY_URL_FILE}" ] || _nu_url=$(tr -d ' \t\r\n' <"${NOTIFY_URL_FILE}")
  case ${_nu_url} in
    https://?*) ;;
    http://*)
      NOTIFY_URL_ERROR="refused: the webhook URL in ${NOTIFY_URL_FILE} is http://, which would"
      NOTIFY_URL_ERROR="${NOTIFY_URL_ERROR} send its token in clear; use an https:// URL"
      return 1
      ;;
    *)
      NOTIFY_URL_ERROR="no https:// URL in ${NOTIFY_URL_FILE}"
      return 1
      ;;
  esac
  _nu_rest=${_nu_url#https://}
  _nu_authority=${_nu_rest%%[/?#]*}
  NOTIFY_PATH=${_nu_rest#"${_nu_authority}"}
  NOTIFY_PATH=${NOTIFY_PATH%%#*}
  case ${NOTIFY_PATH} in
    '') NOTIFY_PATH=/ ;;
    '?'*) NOTIFY_PATH="/${NOTIFY_PATH}" ;;
  esac
  NOTIFY_USERINFO=''
  case ${_nu_authority} in
    *@*) NOTIFY_USERINFO=${_nu_authority%@*} _nu_authority=${_nu_authority##*@} ;;
  esac
  NOTIFY_HOST_HEADER=${_nu_authority} NOTIFY_HOST=${_nu_authority%:*} NOTIFY_PORT=443
  [ "${NOTIFY_HOST}" = "${_nu_authority}" ] || NOTIFY_PORT=${_nu_authority##*:}
  # Checked in reverse order, so that the first problem is the one named.
  _nu_why=''
  case ${NOTIFY_PATH} in
    *[!A-Za-z0-9._~:/?@!\$\&\'\(\)*+,\;=%-]*) _nu_why='has characters a URL cannot hold' ;;
  esac
  is_uint "${NOTIFY_PORT}" || _nu_why='has a bad port'
  case ${NOTIFY_HOST} in '' | -* | *[!A-Za-z0-9.-]*) _nu_why='has no usable host name' ;; esac
  [ -n "${_nu_why}" ] || return 0
  NOTIFY_URL_ERROR="the webhook URL in ${NOTIFY_URL_FILE} ${_nu_why}"
  return 1
}

# notify_url_check: at start, says at once when the webhook URL will be refused (the cycle
# goes on: a bad webhook must not stop the backups).
notify_url_check() {
  [ -z "${NOTIFY_URL_FILE}" ] || notify_url_parse ||
    log ERROR config "webhook: ${NOTIFY_URL_ERROR}; failures will not be notified"
  return 0
}

# notify_record RESULT DETAIL: logs the webhook's outcome and records it in status.json.
notify_record() {
  if [ "$1" = ok ]; then
    log INFO notify "webhook notified ($2)"
  else
    log WARN notify "webhook not notified: $2; the cycle's result stands"
  fi
  _nr_now=$(now_epoch)
  # shellcheck disable=SC2016 # a jq program
  status_update '.notification = {result: $result, detail: $detail, at: $at, epoch: $epoch}' \
    --arg result "$1" --arg detail "$2" --arg at "$(iso_utc "${_nr_now}")" \
    --argjson epoch "${_nr_now}" || true
}
