#######################################
# Targets, child processes and signals
#######################################

# The child process (restic, sleep, or a `run` started by the daemon) that signals go to.
CHILD_PID=''
CHILD_SIGNAL='INT'
SIGNALS_SEEN=0
# The signal that stops this process ('' while none came).
INTERRUPTED=''
# The running target jobs, and whether this process is one of them.
JOB_PIDS=''
IN_JOB=''

# list_target_names: every target's name, each after a space.
list_target_names() {
  for _ln_i in ${TARGET_INDEXES}; do
    printf ' %s' "$(target_get "${_ln_i}" NAME)"
  done
}

# on_signal NAME: trap handler. Passes the stop on to the running child (restic gets SIGINT,
# its clean shutdown that removes its lock) and to every target job (which pass it on to
# their restic), and lets the main flow finish.
# shellcheck disable=SC2317 # invoked by trap
on_signal() {
  SIGNALS_SEEN=$((SIGNALS_SEEN + 1))
  INTERRUPTED=$1
  [ -n "${IN_JOB}" ] ||
    log WARN signal "received SIG$1; stopping once the current step has cleaned up"
  [ -z "${CHILD_PID}" ] || kill "-${CHILD_SIGNAL}" "${CHILD_PID}" 2>/dev/null || true
  for _os_pid in ${JOB_PIDS}; do
    kill -TERM "${_os_pid}" 2>/dev/null || true
  done
}

# Target jobs: a phase of the cycle (the backups, then retention) runs one background job per
# target, at most TARGET_CONCURRENCY at a time, so that the targets' restic runs overlap and
# one slow or failing target never holds up the others. A job is a subshell that records into
# its own folder (WORK_DIR=RUN_DIR/t<INDEX>); jobs_join merges those records in target order.

# job_start INDEX NAME PHASE: starts target_job in the background, first waiting for the
# oldest job while TARGET_CONCURRENCY of them run.
job_start() {
  # shellcheck disable=SC2086 # PIDs, split on purpose
  set -- "$@" ${JOB_PIDS}
  if [ $(($# - 3)) -ge "${TARGET_CONCURRENCY}" ]; then
    wait_child "$4" || true
    JOB_PIDS=${JOB_PIDS#"$4"}
    JOB_PIDS=${JOB_PIDS# }
  fi
  mkdir -p "${RUN_DIR}/t$1" || log ERROR run "cannot create ${RUN_DIR}/t$1"
  target_job "$1" "$2" "$3" &
  JOB_PIDS="${JOB_PIDS} $!"
  JOB_PIDS=${JOB_PIDS# }
  # A stop that came before the job was started is passed on now.
  [ -z "${INTERRUPTED}" ] || kill -TERM "$!" 2>/dev/null || true
}

# target_job INDEX NAME PHASE: the job, in the background subshell job_start makes. It traps
# stops itself (a subshell starts with the default handlers) and never exits through the
# cycle's EXIT trap.
target_job() {
  IN_JOB=1 JOB_PIDS='' CHILD_PID=''
  trap - EXIT
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  trap 'on_signal HUP' HUP
  records_in "${RUN_DIR}/t$1"
  case $3 in
    backup) backup_target "$1" "$2" ;;
    retention) retention_job "$1" "$2" ;;
  esac
}

# jobs_join FILE...: waits for every job, then appends each job's FILEs to the cycle's, in
# target order.
jobs_join() {
  for _jj_pid in ${JOB_PIDS}; do
    wait_child "${_jj_pid}" || true
  done
  JOB_PIDS=''
  for _jj_i in ${TARGET_INDEXES}; do
    for _jj_file in "$@"; do
      [ ! -f "${RUN_DIR}/t${_jj_i}/${_jj_file}" ] ||
        cat "${RUN_DIR}/t${_jj_i}/${_jj_file}" >>"${RUN_DIR}/${_jj_file}" ||
        log ERROR run "cannot merge ${RUN_DIR}/t${_jj_i}/${_jj_file}"
      rm -f "${RUN_DIR}/t${_jj_i}/${_jj_file}" || true
    done
  done
}

# track_child PID SIGNAL: makes PID the child that a stop is passed on to, as SIGNAL; a stop
# that came between `&` and here is passed on now.
track_child() {
  CHILD_PID=$1 CHILD_SIGNAL=$2
  [ -z "${INTERRUPTED}" ] || kill "-${CHILD_SIGNAL}" "${CHILD_PID}" 2>/dev/null || true
}

# wait_child PID: waits for the child, also across trapped signals; returns its exit code.
wait_child() {
  while :; do
    _wc_seen=${SIGNALS_SEEN}
    wait "$1"
    _wc_rc=$?
    [ "${_wc_rc}" -gt 128 ] && [ "${SIGNALS_SEEN}" != "${_wc_seen}" ] || return "${_wc_rc}"
  done
}

# await_child PID SIGNAL: waits for the background child PID, a stop passed on to it as
# SIGNAL; returns its exit code.
await_child() {
  track_child "$1" "$2"
  wait_child "$1"
  _ac_rc=$?
  CHILD_PID=''
  return "${_ac_rc}"
}

# run_restic SCOPE OUT ERR ARGS...: `restic ARGS` against target (or replica) SCOPE, in a
# subshell with its environment (nothing leaks to other targets), output to files (a pipe's
# SIGPIPE would leave a stale lock), bounded by networkTimeoutSeconds. Returns restic's exit
# code, or EX_TARGET_ENV.
run_restic() {
  _rr_i=$1 _rr_out=$2 _rr_err=$3
  shift 3
  _rr_cacert=$(target_get "${_rr_i}" CACERT)
  [ -z "${_rr_cacert}" ] || set -- --cacert "${_rr_cacert}" "$@"
  (
    target_export_env "${_rr_i}" || exit "${EX_TARGET_ENV}"
    [ "${NETWORK_TIMEOUT}" -ne 0 ] || exec restic "$@"
    exec timeout -s INT -k "${KILL_GRACE_SECONDS}" "${NETWORK_TIMEOUT}" restic "$@"
  ) >"${_rr_out}" 2>"${_rr_err}" &
  await_child "$!" INT
}

# error_summary FILE: the most telling line of a restic stderr file, one line, no escapes.
error_summary() {
  [ -s "$1" ] || { printf 'no error output\n' && return 0; }
  _es_line=$(grep -E '^(Fatal|error|Error)' "$1" | tail -n 1)
  # "Fatal: There were N errors" says little: lead with the first of those errors.
  _es_first=$(sed -n '/^ignoring error/{p;q;}' "$1")
  [ -z "${_es_first}" ] || _es_line="${_es_first}${_es_line:+; ${_es_line}}"
  # `backup --json` reports each unreadable file as a JSON line (restic 0.14 leaves its
  # "error" empty), then only "Warning: at least one source file could not be read".
  _es_json=$(jq -rRn '[inputs | fromjson? | objects | select(.message_type == "error")] as $e
      | ($e | map(.item // "?") | unique | length) as $n
      | if $n == 0 then empty else "cannot read \($e[0].item // "?")"
          + ($e[0].error.message // "" | if . == "" then "" else ": " + . end)
          + (if $n > 1 then " (and \($n - 1) more)" else "" end) end' "$1" 2>/dev/null) ||
    _es_json=''
  [ -z "${_es_json}" ] || _es_line="${_es_json}${_es_line:+; ${_es_line}}"
  [ -n "${_es_line}" ] || _es_line=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
  printf '%s\n' "${_es_line}" | tr -d '\r\033' | sed 's/\[[0-9;]*[A-Za-z]//g' | cut -c 1-400
}

# timed_out STARTED: true when a call started at STARTED ran into the network timeout.
timed_out() {
  [ "${NETWORK_TIMEOUT}" -gt 0 ] && [ $(($(clock) - $1)) -ge "${NETWORK_TIMEOUT}" ]
}

# describe_failure RC ERRFILE STARTED: a sentence for logs and status.json.
describe_failure() {
  if timed_out "$3"; then
    printf 'timed out after %ss (networkTimeoutSeconds)\n' $(($(clock) - $3))
  elif [ -n "${INTERRUPTED}" ]; then
    printf 'interrupted by SIG%s\n' "${INTERRUPTED}"
  elif [ "$1" -eq "${EX_TARGET_ENV}" ]; then
    printf 'target environment: %s\n' "$(error_summary "$2")"
  else
    printf 'restic exit %s: %s\n' "$1" "$(error_summary "$2")"
  fi
}
