#######################################
# Child processes and signals
#######################################

# on_signal NAME: trap handler. Passes the stop on to the running child (restic gets SIGINT,
# its clean shutdown that removes its lock) and lets the main flow finish.
# shellcheck disable=SC2317 # invoked by trap
on_signal() {
  SIGNALS_SEEN=$((SIGNALS_SEEN + 1))
  INTERRUPTED=$1
  log WARN signal "received SIG$1; stopping once the current step has cleaned up"
  if [ -n "${CHILD_PID}" ]; then
    # The child may already be gone: nothing to do then.
    kill "-${CHILD_SIGNAL}" "${CHILD_PID}" 2>/dev/null || true
  fi
}

# track_child PID SIGNAL: makes PID the child that a stop is passed on to, as SIGNAL. A stop
# that arrived before PID was known (between `&` and here) is passed on now, so no window
# is left in which a signal finds no child to stop.
track_child() {
  CHILD_PID=$1
  CHILD_SIGNAL=$2
  if [ -n "${INTERRUPTED}" ]; then
    # The child may already be gone: nothing to do then.
    kill "-${CHILD_SIGNAL}" "${CHILD_PID}" 2>/dev/null || true
  fi
}

# wait_child PID: waits for the child, also across trapped signals; returns its exit code.
wait_child() {
  while :; do
    _wc_seen=${SIGNALS_SEEN}
    wait "$1"
    _wc_rc=$?
    if [ "${_wc_rc}" -gt 128 ] && [ "${SIGNALS_SEEN}" != "${_wc_seen}" ]; then
      continue
    fi
    return "${_wc_rc}"
  done
}

# run_restic SCOPE OUT ERR ARGS...: runs `restic ARGS` against target (or replica) SCOPE with
# its environment (in a subshell, so nothing leaks to other targets), stdout and stderr
# to files (never to a pipe: SIGPIPE would leave a stale lock), bounded by
# networkTimeoutSeconds. Returns restic's exit code, or EX_TARGET_ENV.
run_restic() {
  _rr_i=$1
  _rr_out=$2
  _rr_err=$3
  shift 3
  _rr_cacert=$(target_get "${_rr_i}" CACERT)
  if [ -n "${_rr_cacert}" ]; then
    set -- --cacert "${_rr_cacert}" "$@"
  fi
  (
    target_export_env "${_rr_i}" || exit "${EX_TARGET_ENV}"
    if [ "${NETWORK_TIMEOUT}" -eq 0 ]; then
      exec restic "$@"
    fi
    exec timeout -s INT -k "${KILL_GRACE_SECONDS}" "${NETWORK_TIMEOUT}" restic "$@"
  ) >"${_rr_out}" 2>"${_rr_err}" &
  track_child "$!" INT
  wait_child "${CHILD_PID}"
  _rr_rc=$?
  CHILD_PID=''
  return "${_rr_rc}"
}

# error_summary FILE: the most telling line of a restic stderr file, one line, no escapes.
error_summary() {
  if [ ! -s "$1" ]; then
    printf 'no error output\n'
    return 0
  fi
  _es_line=$(grep -E '^(Fatal|error|Error)' "$1" | tail -n 1)
  # "Fatal: There were N errors" says little: lead with the first of those errors.
  _es_first=$(sed -n '/^ignoring error/{p;q;}' "$1")
  if [ -n "${_es_first}" ]; then
    _es_line="${_es_first}${_es_line:+; ${_es_line}}"
  fi
  # `backup --json` reports each file it cannot read as a JSON line on stderr (restic 0.14
  # leaves its "error" empty) and then only "Warning: at least one source file could not be
  # read": name the first such file, and how many others.
  _es_json=$(jq -rRn '[inputs | fromjson? | objects | select(.message_type == "error")] as $e
      | ($e | map(.item // "?") | unique | length) as $n
      | if $n == 0 then empty else "cannot read \($e[0].item // "?")"
          + ($e[0].error.message // "" | if . == "" then "" else ": " + . end)
          + (if $n > 1 then " (and \($n - 1) more)" else "" end) end' "$1" 2>/dev/null) ||
    _es_json=''
  if [ -n "${_es_json}" ]; then
    _es_line="${_es_json}${_es_line:+; ${_es_line}}"
  fi
  if [ -z "${_es_line}" ]; then
    _es_line=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
  fi
  printf '%s\n' "${_es_line}" | tr -d '\r\033' | sed 's/\[[0-9;]*[A-Za-z]//g' | cut -c 1-400
}

# timed_out STARTED: true when a call started at STARTED ran into the network timeout.
timed_out() {
  [ "${NETWORK_TIMEOUT}" -gt 0 ] && [ $(($(clock) - $1)) -ge "${NETWORK_TIMEOUT}" ]
}

# describe_failure RC ERRFILE STARTED: a sentence for logs and status.json.
describe_failure() {
  _df_elapsed=$(($(clock) - $3))
  if timed_out "$3"; then
    printf 'timed out after %ss (networkTimeoutSeconds)\n' "${_df_elapsed}"
  elif [ -n "${INTERRUPTED}" ]; then
    printf 'interrupted by SIG%s\n' "${INTERRUPTED}"
  elif [ "$1" -eq "${EX_TARGET_ENV}" ]; then
    printf 'target environment: %s\n' "$(error_summary "$2")"
  else
    printf 'restic exit %s: %s\n' "$1" "$(error_summary "$2")"
  fi
}
