#!/bin/sh
#
# backup-agent: the restic backup agent of a cdktf-container-backup sidecar.
#
# POSIX sh; runs under busybox sh and dash with busybox applets as the only coreutils, and
# with restic 0.14 or newer. Every decision is made at synth time and arrives as environment
# variables (secrets as files). docs/agent-contract.md is the reference for the variables,
# the paths, status.json and the exit codes.
#
# Usage: backup-agent daemon | run | snapshots | restore | verify | health   (see usage())
#
# Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 partial backup (some files
# could not be read), 75 another cycle holds the lock (nothing was done).

set -u

readonly EX_OK=0
readonly EX_FAIL=1
readonly EX_USAGE=2
readonly EX_PARTIAL=3
readonly EX_BUSY=75
# Exit code of run_restic when the agent could not prepare a target's environment.
readonly EX_TARGET_ENV=125
# Seconds restic gets to release its lock after SIGINT before timeout sends SIGKILL.
readonly KILL_GRACE_SECONDS=30
readonly LOG_RUNS_KEPT=20

AGENT_SELF=$0
# The child process (restic, sleep, or a `run` started by the daemon) that signals go to.
CHILD_PID=''
CHILD_SIGNAL='INT'
SIGNALS_SEEN=0
INTERRUPTED=''
LOCK_HELD=''
TMP_WORK=''

#######################################
# Logging and time
#######################################

# log LEVEL STEP MESSAGE...: one line to stderr, e.g.
# 2026-11-26T02:00:00Z backup-agent INFO step=backup target=local-disk snapshot 4f1c2a9e
log() {
  _log_level=$1
  _log_step=$2
  shift 2
  printf '%s backup-agent %s step=%s %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${_log_level}" "${_log_step}" "$*" >&2
}

# clock: wall-clock epoch seconds, for durations.
clock() {
  date +%s
}

# now_epoch: the current time for timestamps and health. BACKUP_NOW_EPOCH is a test hook.
now_epoch() {
  if [ -n "${BACKUP_NOW_EPOCH:-}" ]; then
    printf '%s\n' "${BACKUP_NOW_EPOCH}"
  else
    date +%s
  fi
}

# iso_utc EPOCH
iso_utc() {
  date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# is_uint VALUE: true when VALUE is a non-empty string of digits.
is_uint() {
  case $1 in
    '' | *[!0-9]*) return 1 ;;
    *) return 0 ;;
  esac
}

# strip_zeros NUMBER: sets STRIPPED to NUMBER without leading zeros (sh arithmetic reads
# 08 as a bad octal number).
strip_zeros() {
  STRIPPED=$1
  while :; do
    case ${STRIPPED} in
      0[0-9]*) STRIPPED=${STRIPPED#0} ;;
      *) return 0 ;;
    esac
  done
}

#######################################
# Cron matching
#######################################

# cron_item_matches ITEM VALUE MIN MAX: one list item (`*`, `*/n`, `a`, `a-b`, `a-b/n`,
# `a/n`). Returns 0 match, 1 no match, 2 invalid item.
cron_item_matches() {
  _ci_item=$1
  _ci_value=$2
  _ci_min=$3
  _ci_max=$4
  _ci_step=1
  case ${_ci_item} in
    */*)
      _ci_step=${_ci_item#*/}
      _ci_item=${_ci_item%%/*}
      is_uint "${_ci_step}" || return 2
      strip_zeros "${_ci_step}"
      _ci_step=${STRIPPED}
      [ "${_ci_step}" -ge 1 ] || return 2
      ;;
  esac
  case ${_ci_item} in
    '*')
      _ci_lo=${_ci_min}
      _ci_hi=${_ci_max}
      ;;
    *-*)
      _ci_lo=${_ci_item%%-*}
      _ci_hi=${_ci_item#*-}
      is_uint "${_ci_lo}" || return 2
      is_uint "${_ci_hi}" || return 2
      ;;
    *)
      is_uint "${_ci_item}" || return 2
      _ci_lo=${_ci_item}
      # `a/n` means from a to the end of the range, every n.
      if [ "${_ci_step}" -gt 1 ] || [ "${_ci_item}" != "$1" ]; then
        _ci_hi=${_ci_max}
      else
        _ci_hi=${_ci_item}
      fi
      ;;
  esac
  strip_zeros "${_ci_lo}"
  _ci_lo=${STRIPPED}
  strip_zeros "${_ci_hi}"
  _ci_hi=${STRIPPED}
  if [ "${_ci_lo}" -lt "${_ci_min}" ] || [ "${_ci_hi}" -gt "${_ci_max}" ] ||
    [ "${_ci_lo}" -gt "${_ci_hi}" ]; then
    return 2
  fi
  if [ "${_ci_value}" -ge "${_ci_lo}" ] && [ "${_ci_value}" -le "${_ci_hi}" ] &&
    [ $(((_ci_value - _ci_lo) % _ci_step)) -eq 0 ]; then
    return 0
  fi
  return 1
}

# cron_field_matches FIELD VALUE MIN MAX: a comma-separated list. Every item is checked (no
# early exit) so that an invalid item is always reported. Returns 0, 1 or 2 (invalid).
cron_field_matches() {
  _cf_field=$1
  case ${_cf_field} in
    '' | ,* | *, | *,,* | *[!0-9*/,-]*) return 2 ;;
  esac
  _cf_result=1
  _cf_ifs=${IFS}
  IFS=,
  set -f
  for _cf_item in ${_cf_field}; do
    cron_item_matches "${_cf_item}" "$2" "$3" "$4"
    case $? in
      0) [ "${_cf_result}" -eq 2 ] || _cf_result=0 ;;
      1) ;;
      *) _cf_result=2 ;;
    esac
  done
  set +f
  IFS=${_cf_ifs}
  return "${_cf_result}"
}

# cron_matches "EXPR" EPOCH: 5 fields (minute hour day-of-month month day-of-week), the
# time taken in TZ. Day of week 0-7 (0 and 7 are Sunday). As in Vixie cron, when both
# day-of-month and day-of-week are restricted (neither starts with `*`) either may match.
# Returns 0 match, 1 no match, 2 invalid expression.
cron_matches() {
  _cm_expr=$1
  _cm_epoch=$2
  is_uint "${_cm_epoch}" || return 2
  set -f
  # shellcheck disable=SC2086 # split the expression into its fields on purpose
  set -- ${_cm_expr}
  set +f
  [ "$#" -eq 5 ] || return 2
  _cm_f_min=$1
  _cm_f_hour=$2
  _cm_f_dom=$3
  _cm_f_mon=$4
  _cm_f_dow=$5
  _cm_now=$(date -d "@${_cm_epoch}" '+%M %H %d %m %w') || return 2
  # shellcheck disable=SC2086 # five numbers
  set -- ${_cm_now}
  strip_zeros "$1"
  _cm_v_min=${STRIPPED}
  strip_zeros "$2"
  _cm_v_hour=${STRIPPED}
  strip_zeros "$3"
  _cm_v_dom=${STRIPPED}
  strip_zeros "$4"
  _cm_v_mon=${STRIPPED}
  _cm_v_dow=$5

  cron_field_matches "${_cm_f_min}" "${_cm_v_min}" 0 59
  _cm_r_min=$?
  cron_field_matches "${_cm_f_hour}" "${_cm_v_hour}" 0 23
  _cm_r_hour=$?
  cron_field_matches "${_cm_f_dom}" "${_cm_v_dom}" 1 31
  _cm_r_dom=$?
  cron_field_matches "${_cm_f_mon}" "${_cm_v_mon}" 1 12
  _cm_r_mon=$?
  cron_field_matches "${_cm_f_dow}" "${_cm_v_dow}" 0 7
  _cm_r_dow=$?
  if [ "${_cm_r_dow}" -eq 1 ] && [ "${_cm_v_dow}" -eq 0 ]; then
    cron_field_matches "${_cm_f_dow}" 7 0 7
    _cm_r_dow=$?
  fi
  for _cm_r in "${_cm_r_min}" "${_cm_r_hour}" "${_cm_r_dom}" "${_cm_r_mon}" "${_cm_r_dow}"; do
    [ "${_cm_r}" -ne 2 ] || return 2
  done
  [ "${_cm_r_min}" -eq 0 ] && [ "${_cm_r_hour}" -eq 0 ] && [ "${_cm_r_mon}" -eq 0 ] ||
    return 1
  case ${_cm_f_dom}:${_cm_f_dow} in
    '*'*:* | *:'*'*)
      [ "${_cm_r_dom}" -eq 0 ] && [ "${_cm_r_dow}" -eq 0 ]
      return
      ;;
    *)
      [ "${_cm_r_dom}" -eq 0 ] || [ "${_cm_r_dow}" -eq 0 ]
      return
      ;;
  esac
}

#######################################
# Configuration
#######################################

# target_get INDEX KEY: prints BACKUP_TARGET_<INDEX>_<KEY> (empty when unset). INDEX is
# validated as a number and KEY is a constant, so the eval is safe.
target_get() {
  is_uint "$1" || return 1
  eval "printf '%s' \"\${BACKUP_TARGET_$1_$2:-}\""
}

# load_common: state dir, timeouts, restic cache. Returns EX_USAGE on a bad value.
load_common() {
  STATE_DIR=${BACKUP_STATE_DIR:-/backup/agent}
  case ${STATE_DIR} in
    /*) ;;
    *)
      log ERROR config "BACKUP_STATE_DIR='${STATE_DIR}' is not an absolute path; set it to" \
        "the agent's state volume, e.g. /backup/agent"
      return "${EX_USAGE}"
      ;;
  esac
  NETWORK_TIMEOUT=${BACKUP_NETWORK_TIMEOUT_SECONDS:-3600}
  if ! is_uint "${NETWORK_TIMEOUT}"; then
    log ERROR config "BACKUP_NETWORK_TIMEOUT_SECONDS='${NETWORK_TIMEOUT}' is not a number of" \
      "seconds; set it to e.g. 3600 (0 disables the timeout)"
    return "${EX_USAGE}"
  fi
  if [ -z "${RESTIC_CACHE_DIR:-}" ]; then
    RESTIC_CACHE_DIR="${STATE_DIR}/cache"
    export RESTIC_CACHE_DIR
  fi
  return 0
}

# load_targets: validates BACKUP_TARGET_COUNT and every target's name and repository.
load_targets() {
  TARGET_COUNT=${BACKUP_TARGET_COUNT:-}
  if ! is_uint "${TARGET_COUNT}" || [ "${TARGET_COUNT}" -lt 1 ]; then
    log ERROR config "BACKUP_TARGET_COUNT='${TARGET_COUNT}' must be the number of storage" \
      "targets (1 or more), each described by BACKUP_TARGET_<i>_NAME and _REPOSITORY"
    return "${EX_USAGE}"
  fi
  _lt_names=' '
  _lt_i=1
  while [ "${_lt_i}" -le "${TARGET_COUNT}" ]; do
    _lt_name=$(target_get "${_lt_i}" NAME)
    case ${_lt_name} in
      '' | *[!A-Za-z0-9._-]*)
        log ERROR config "BACKUP_TARGET_${_lt_i}_NAME='${_lt_name}' must be set to a name of" \
          "letters, digits, '.', '_' or '-'"
        return "${EX_USAGE}"
        ;;
    esac
    case ${_lt_names} in
      *" ${_lt_name} "*)
        log ERROR config "target name '${_lt_name}' is used twice; give each" \
          "BACKUP_TARGET_<i>_NAME a distinct value"
        return "${EX_USAGE}"
        ;;
    esac
    _lt_names="${_lt_names}${_lt_name} "
    if [ -z "$(target_get "${_lt_i}" REPOSITORY)" ]; then
      log ERROR config "BACKUP_TARGET_${_lt_i}_REPOSITORY is empty; set it to the restic" \
        "repository of target '${_lt_name}'"
      return "${EX_USAGE}"
    fi
    _lt_i=$((_lt_i + 1))
  done
  return 0
}

# load_backup: host, sources and tags for `run`.
load_backup() {
  if [ -z "${BACKUP_HOST:-}" ]; then
    log ERROR config "BACKUP_HOST is empty; set it to a fixed name (restic --host) so that" \
      "parent snapshots are found after the container is re-created"
    return "${EX_USAGE}"
  fi
  if [ -z "${BACKUP_SOURCES:-}" ]; then
    log ERROR config "BACKUP_SOURCES is empty; set it to the space-separated absolute paths" \
      "to back up, e.g. /backup/sources/pgdata"
    return "${EX_USAGE}"
  fi
  set -f
  for _lb_source in ${BACKUP_SOURCES}; do
    case ${_lb_source} in
      /*) ;;
      *)
        set +f
        log ERROR config "BACKUP_SOURCES entry '${_lb_source}' is not an absolute path"
        return "${EX_USAGE}"
        ;;
    esac
  done
  set +f
  return 0
}

# target_index NAME: prints the index of the target called NAME.
target_index() {
  _ti_i=1
  while [ "${_ti_i}" -le "${TARGET_COUNT}" ]; do
    if [ "$(target_get "${_ti_i}" NAME)" = "$1" ]; then
      printf '%s\n' "${_ti_i}"
      return 0
    fi
    _ti_i=$((_ti_i + 1))
  done
  return 1
}

# env_names PREFIX: prints the suffixes of the exported variables named PREFIX<SUFFIX>.
env_names() {
  env | sed -n "s/^$1\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p"
}

# target_export_env INDEX: exports the repository, password file and the target's own
# variables: BACKUP_TARGET_<i>_ENV_<VAR>=value is exported as <VAR>; when <VAR> ends in
# _FILE, <VAR> keeps the path and the variable without the suffix gets the file's content
# (BACKUP_TARGET_2_ENV_AWS_SECRET_ACCESS_KEY_FILE=/s/key exports AWS_SECRET_ACCESS_KEY_FILE
# and AWS_SECRET_ACCESS_KEY), which serves secrets and path variables such as
# AWS_SHARED_CREDENTIALS_FILE alike. Only ever called in the subshell that runs restic for
# that target, so nothing leaks to the other targets.
target_export_env() {
  _te_i=$1
  RESTIC_REPOSITORY=$(target_get "${_te_i}" REPOSITORY) || return 1
  export RESTIC_REPOSITORY
  _te_password_file=$(target_get "${_te_i}" PASSWORD_FILE) || return 1
  if [ -n "${_te_password_file}" ]; then
    RESTIC_PASSWORD_FILE=${_te_password_file}
    export RESTIC_PASSWORD_FILE
  fi
  _te_names=$(env_names "BACKUP_TARGET_${_te_i}_ENV_") || return 1
  for _te_var in ${_te_names}; do
    eval "_te_value=\${BACKUP_TARGET_${_te_i}_ENV_${_te_var}}"
    # shellcheck disable=SC2154 # assigned by the eval above
    export "${_te_var}=${_te_value}" || return 1
    case ${_te_var} in
      ?*_FILE)
        if ! _te_content=$(cat -- "${_te_value}"); then
          printf 'cannot read %s (BACKUP_TARGET_%s_ENV_%s)\n' "${_te_value}" "${_te_i}" \
            "${_te_var}" >&2
          return 1
        fi
        export "${_te_var%_FILE}=${_te_content}" || return 1
        ;;
    esac
  done
  if [ -z "${RESTIC_PASSWORD_FILE:-}" ] && [ -z "${RESTIC_PASSWORD:-}" ]; then
    printf 'no repository password: set BACKUP_TARGET_%s_PASSWORD_FILE or RESTIC_PASSWORD_FILE\n' \
      "${_te_i}" >&2
    return 1
  fi
  if [ -n "${RESTIC_PASSWORD_FILE:-}" ] && [ ! -f "${RESTIC_PASSWORD_FILE}" ]; then
    printf 'password file %s does not exist\n' "${RESTIC_PASSWORD_FILE}" >&2
    return 1
  fi
  rest_credentials_in_url || return 1
  return 0
}

# rest_credentials_in_url: restic before 0.16 reads REST server credentials only from the
# URL. When RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD are set and the rest: URL has no
# credentials, puts them in it, percent-encoded (restic prints such URLs with the password
# masked). Called in the subshell of one restic run only.
rest_credentials_in_url() {
  [ -n "${RESTIC_REST_USERNAME:-}" ] && [ -n "${RESTIC_REST_PASSWORD:-}" ] || return 0
  case ${RESTIC_REPOSITORY} in
    rest:http://* | rest:https://*) ;;
    *) return 0 ;;
  esac
  _rc_rest=${RESTIC_REPOSITORY#rest:*://}
  case ${_rc_rest%%/*} in
    *@*) return 0 ;;
  esac
  if ! _rc_auth=$(jq -rn --arg u "${RESTIC_REST_USERNAME}" --arg p "${RESTIC_REST_PASSWORD}" \
    '"\($u | @uri):\($p | @uri)"'); then
    printf 'cannot encode the REST server credentials\n' >&2
    return 1
  fi
  RESTIC_REPOSITORY="${RESTIC_REPOSITORY%%://*}://${_rc_auth}@${_rc_rest}"
  export RESTIC_REPOSITORY
}

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

# run_restic INDEX OUT ERR ARGS...: runs `restic ARGS` against target INDEX with that
# target's environment (in a subshell, so nothing leaks to other targets), stdout and stderr
# to files (never to a pipe: SIGPIPE would leave a stale lock), bounded by
# BACKUP_NETWORK_TIMEOUT_SECONDS. Returns restic's exit code, or EX_TARGET_ENV.
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
    printf 'timed out after %ss (BACKUP_NETWORK_TIMEOUT_SECONDS)\n' "${_df_elapsed}"
  elif [ -n "${INTERRUPTED}" ]; then
    printf 'interrupted by SIG%s\n' "${INTERRUPTED}"
  elif [ "$1" -eq "${EX_TARGET_ENV}" ]; then
    printf 'target environment: %s\n' "$(error_summary "$2")"
  else
    printf 'restic exit %s: %s\n' "$1" "$(error_summary "$2")"
  fi
}

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
  LOCK_FOREIGN_SECONDS=$((NETWORK_TIMEOUT * (4 * TARGET_COUNT + 2) + 3600))
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
  lock_release
  if [ -n "${TMP_WORK}" ]; then
    rm -rf "${TMP_WORK}" || true
  fi
}

#######################################
# status.json
#######################################

# status_previous: prints the path of the previous status when it is valid JSON, else
# /dev/null (jq --slurpfile then gives []).
status_previous() {
  if [ -f "${STATUS_FILE}" ]; then
    if jq -e 'type == "object"' "${STATUS_FILE}" >/dev/null 2>&1; then
      printf '%s\n' "${STATUS_FILE}"
      return 0
    fi
    log WARN status "${STATUS_FILE} is not valid JSON; last success is not carried over"
  fi
  printf '/dev/null\n'
}

# status_commit TMPFILE: atomically replaces status.json.
status_commit() {
  if ! mv -f "$1" "${STATUS_FILE}"; then
    log ERROR status "cannot replace ${STATUS_FILE}"
    rm -f "$1" || true
    return 1
  fi
  return 0
}

# status_write_running STARTED_EPOCH: state "running"; everything else carried over.
status_write_running() {
  _sr_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" \
    --arg host "${BACKUP_HOST}" --arg started "$(iso_utc "$1")" '
      ($prev[0] // {}) as $p
      | {version: 1, host: $host, state: "running", started_at: $started,
         finished_at: null, duration_seconds: null,
         last_success_at: ($p.last_success_at // null),
         last_success_epoch: ($p.last_success_epoch // null),
         targets: ($p.targets // [])}' >"${_sr_tmp}"; then
    log ERROR status "cannot write ${_sr_tmp}"
    rm -f "${_sr_tmp}" || true
    return 1
  fi
  status_commit "${_sr_tmp}"
}

# status_write_final STATE STARTED_EPOCH FINISHED_EPOCH RESULTS_FILE: the cycle's outcome;
# last_success_* (overall and per target) carried over where this cycle did not succeed.
status_write_final() {
  _sf_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" --slurpfile results "$4" \
    --arg host "${BACKUP_HOST}" --arg state "$1" \
    --arg started "$(iso_utc "$2")" --arg finished "$(iso_utc "$3")" \
    --argjson started_epoch "$2" --argjson finished_epoch "$3" '
      ($prev[0] // {}) as $p
      | {version: 1, host: $host, state: $state, started_at: $started,
         finished_at: $finished, duration_seconds: ($finished_epoch - $started_epoch),
         last_success_at:
           (if $state == "ok" then $finished else ($p.last_success_at // null) end),
         last_success_epoch:
           (if $state == "ok" then $finished_epoch else ($p.last_success_epoch // null) end),
         targets: [$results[] | . as $t
           | ([($p.targets // [])[] | select(.name == $t.name)] | first // {}) as $old
           | $t + (if $t.result == "ok"
               then {last_success_at: $finished, last_success_epoch: $finished_epoch}
               else {last_success_at: ($old.last_success_at // null),
                     last_success_epoch: ($old.last_success_epoch // null)} end)]}' \
    >"${_sf_tmp}"; then
    log ERROR status "cannot write ${_sf_tmp}"
    rm -f "${_sf_tmp}" || true
    return 1
  fi
  status_commit "${_sf_tmp}"
}

# record_result NAME RESULT SNAPSHOT BYTES FILES_NEW FILES_CHANGED DURATION EXIT ERROR
# MANIFEST: appends one target's outcome to RESULTS_FILE.
record_result() {
  if ! jq -cn --arg name "$1" --arg result "$2" --arg snapshot "$3" --arg bytes "$4" \
    --arg files_new "$5" --arg files_changed "$6" --arg duration "$7" --arg code "$8" \
    --arg error "$9" --arg manifest "${10}" '
      def num: (tonumber? // null);
      def str: (if . == "" then null else . end);
      {name: $name, result: $result, snapshot_id: ($snapshot | str),
       bytes_added: ($bytes | num), files_new: ($files_new | num),
       files_changed: ($files_changed | num), duration_seconds: ($duration | num),
       exit_code: ($code | num), error: ($error | str), manifest: ($manifest | str)}' \
    >>"${RESULTS_FILE}"; then
    log ERROR status "cannot append to ${RESULTS_FILE}"
    return 1
  fi
  return 0
}

#######################################
# Source manifest
#######################################

# manifest_create: hashes every regular file of the existing sources into a pending
# manifest (sha256sum -c format, paths relative to /, so `cd RESTORE_DIR && sha256sum -c`
# checks a restore). Sets MANIFEST_PENDING ('' when disabled or failed).
manifest_create() {
  MANIFEST_PENDING=''
  case ${BACKUP_MANIFEST:-on} in
    off | false | no | 0)
      log INFO manifest "disabled by BACKUP_MANIFEST=${BACKUP_MANIFEST}"
      return 0
      ;;
  esac
  if ! mkdir -p "${STATE_DIR}/manifests"; then
    log WARN manifest "cannot create ${STATE_DIR}/manifests; no manifest this cycle"
    return 0
  fi
  set --
  set -f
  for _mc_source in ${EXISTING_SOURCES}; do
    _mc_rel=${_mc_source#/}
    set -- "$@" "${_mc_rel:-.}"
  done
  set +f
  [ "$#" -gt 0 ] || return 0
  _mc_pending="${STATE_DIR}/manifests/.pending-${RUN_ID}.sha256"
  if ! (cd / && find "$@" -type f -exec sha256sum {} +) >"${_mc_pending}.unsorted" \
    2>"${RUN_DIR}/manifest.err"; then
    log WARN manifest "some files could not be hashed: $(error_summary "${RUN_DIR}/manifest.err")"
  fi
  if ! LC_ALL=C sort -k 2 -o "${_mc_pending}" "${_mc_pending}.unsorted"; then
    log WARN manifest "cannot sort the manifest; no manifest this cycle"
    rm -f "${_mc_pending}" "${_mc_pending}.unsorted" || true
    return 0
  fi
  rm -f "${_mc_pending}.unsorted" || log WARN manifest "cannot remove ${_mc_pending}.unsorted"
  _mc_count=$(wc -l <"${_mc_pending}" | tr -d ' ') || _mc_count='?'
  log INFO manifest "sha256 of ${_mc_count} files recorded"
  MANIFEST_PENDING=${_mc_pending}
}

# manifest_attach SNAPSHOT_ID: links the pending manifest as manifests/<short-id>.sha256
# (the first 8 hex digits, whatever id form the restic version reports). Prints the path
# relative to the state dir.
manifest_attach() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  _ma_short=$(printf '%s' "$1" | cut -c 1-8)
  _ma_file="${STATE_DIR}/manifests/${_ma_short}.sha256"
  if ln -f "${MANIFEST_PENDING}" "${_ma_file}" 2>/dev/null ||
    cp "${MANIFEST_PENDING}" "${_ma_file}"; then
    printf 'manifests/%s.sha256\n' "${_ma_short}"
    return 0
  fi
  log WARN manifest "cannot write ${_ma_file}"
  return 1
}

# manifest_finish: drops the pending file and keeps the newest BACKUP_MANIFEST_KEEP manifests.
manifest_finish() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  rm -f "${MANIFEST_PENDING}" || log WARN manifest "cannot remove ${MANIFEST_PENDING}"
  _mf_keep=${BACKUP_MANIFEST_KEEP:-100}
  is_uint "${_mf_keep}" || _mf_keep=100
  _mf_n=0
  # Newest first; the names are snapshot ids (hex), safe to split.
  # shellcheck disable=SC2045
  for _mf_file in $(ls -1t "${STATE_DIR}/manifests"); do
    case ${_mf_file} in
      *.sha256) ;;
      *) continue ;;
    esac
    _mf_n=$((_mf_n + 1))
    if [ "${_mf_n}" -gt "${_mf_keep}" ]; then
      rm -f "${STATE_DIR}/manifests/${_mf_file}" || log WARN manifest "cannot remove ${_mf_file}"
    fi
  done
}

# logs_prune: keeps the restic output of the newest LOG_RUNS_KEPT cycles (run-<UTC time>-<pid>
# names sort oldest first).
logs_prune() {
  _lp_total=0
  for _lp_dir in "${STATE_DIR}"/logs/run-*; do
    [ -d "${_lp_dir}" ] && _lp_total=$((_lp_total + 1))
  done
  _lp_excess=$((_lp_total - LOG_RUNS_KEPT))
  for _lp_dir in "${STATE_DIR}"/logs/run-*; do
    [ "${_lp_excess}" -gt 0 ] || return 0
    [ -d "${_lp_dir}" ] || continue
    rm -rf "${_lp_dir}" || log WARN logs "cannot remove ${_lp_dir}"
    _lp_excess=$((_lp_excess - 1))
  done
}

#######################################
# run: one backup cycle
#######################################

# ensure_repository INDEX NAME: opens the target's repository, initialising it when it does
# not exist yet. Sets TARGET_ERROR on failure.
ensure_repository() {
  _er_prefix="${RUN_DIR}/$1-${2}"
  log INFO open "target=$2 opening the repository"
  _er_started=$(clock)
  # --no-lock: only reading the config must not fail on a repository that cannot be locked.
  run_restic "$1" "${_er_prefix}-open.out" "${_er_prefix}-open.err" --no-lock cat config
  _er_rc=$?
  [ "${_er_rc}" -eq 0 ] && return 0
  if [ -n "${INTERRUPTED}" ] || [ "${_er_rc}" -eq "${EX_TARGET_ENV}" ] ||
    [ "${_er_rc}" -eq 12 ] || timed_out "${_er_started}"; then
    # Not "no repository there": interrupted, no environment, wrong password (12, restic
    # >= 0.17) or an endpoint that does not answer. Never init then.
    TARGET_ERROR="cannot open the repository: $(describe_failure "${_er_rc}" \
      "${_er_prefix}-open.err" "${_er_started}")"
    return 1
  fi
  log INFO init "target=$2 no repository opened ($(error_summary "${_er_prefix}-open.err"));" \
    "initialising one"
  _er_started=$(clock)
  run_restic "$1" "${_er_prefix}-init.out" "${_er_prefix}-init.err" init
  _er_rc=$?
  if [ "${_er_rc}" -ne 0 ]; then
    TARGET_ERROR="cannot open the repository ($(error_summary "${_er_prefix}-open.err"))"
    TARGET_ERROR="${TARGET_ERROR} nor initialise it: $(describe_failure "${_er_rc}" \
      "${_er_prefix}-init.err" "${_er_started}")"
    return 1
  fi
  log INFO init "target=$2 repository initialised"
  return 0
}

# backup_target INDEX: the whole cycle for one target; never exits, records the result.
backup_target() {
  _bt_i=$1
  _bt_name=$(target_get "${_bt_i}" NAME)
  _bt_prefix="${RUN_DIR}/${_bt_i}-${_bt_name}"
  _bt_started=$(clock)
  TARGET_ERROR=''
  if [ -n "${INTERRUPTED}" ]; then
    record_result "${_bt_name}" skipped '' '' '' '' 0 '' \
      "not attempted: the cycle was interrupted by SIG${INTERRUPTED}" ''
    return
  fi
  if ! ensure_repository "${_bt_i}" "${_bt_name}"; then
    log ERROR backup "target=${_bt_name} ${TARGET_ERROR}"
    record_result "${_bt_name}" failed '' '' '' '' "$(($(clock) - _bt_started))" '' \
      "${TARGET_ERROR}" ''
    return
  fi
  # Removes only stale locks (left by a killed restic); never --remove-all.
  if ! run_restic "${_bt_i}" "${_bt_prefix}-unlock.out" "${_bt_prefix}-unlock.err" unlock; then
    log WARN unlock "target=${_bt_name} restic unlock failed:" \
      "$(error_summary "${_bt_prefix}-unlock.err")"
  fi

  set -- backup --json --host "${BACKUP_HOST}"
  set -f
  for _bt_tag in ${BACKUP_TAGS:-}; do
    set -- "$@" --tag "${_bt_tag}"
  done
  set -- "$@" --
  for _bt_source in ${EXISTING_SOURCES}; do
    set -- "$@" "${_bt_source}"
  done
  set +f
  log INFO backup "target=${_bt_name} started"
  _bt_started_backup=$(clock)
  run_restic "${_bt_i}" "${_bt_prefix}-backup.json" "${_bt_prefix}-backup.err" "$@"
  _bt_rc=$?
  _bt_duration=$(($(clock) - _bt_started))

  _bt_summary=''
  if [ -s "${_bt_prefix}-backup.json" ]; then
    _bt_summary=$(jq -nrR '[inputs | fromjson? | objects | select(.message_type == "summary")]
        | last // empty
        | "\(.snapshot_id // "") \(.data_added // "") \(.files_new // "") \(.files_changed // "")"' \
      "${_bt_prefix}-backup.json") || _bt_summary=''
  fi
  _bt_snapshot=''
  _bt_bytes=''
  _bt_new=''
  _bt_changed=''
  if [ -n "${_bt_summary}" ]; then
    read -r _bt_snapshot _bt_bytes _bt_new _bt_changed <<EOF
${_bt_summary}
EOF
  fi

  case ${_bt_rc} in
    0 | 3)
      if [ -z "${_bt_snapshot}" ]; then
        _bt_result=failed
        TARGET_ERROR="restic exit ${_bt_rc} but no snapshot id in its --json summary"
      elif [ "${_bt_rc}" -eq 3 ]; then
        _bt_result=partial
        TARGET_ERROR="some files could not be read: $(error_summary "${_bt_prefix}-backup.err")"
      elif [ -n "${MISSING_SOURCES}" ]; then
        _bt_result=partial
        TARGET_ERROR="sources missing, not backed up:${MISSING_SOURCES}"
      else
        _bt_result=ok
      fi
      ;;
    *)
      # Any other code, known or not, is a failure.
      _bt_result=failed
      _bt_snapshot=''
      TARGET_ERROR=$(describe_failure "${_bt_rc}" "${_bt_prefix}-backup.err" \
        "${_bt_started_backup}")
      ;;
  esac

  if [ -n "${_bt_snapshot}" ] && [ "${#_bt_snapshot}" -lt 64 ]; then
    # restic < 0.15 reports the short id; status.json carries the full one.
    if run_restic "${_bt_i}" "${_bt_prefix}-snapshot.json" "${_bt_prefix}-snapshot.err" \
      snapshots --json "${_bt_snapshot}" &&
      _bt_full=$(jq -r '.[0].id // empty' "${_bt_prefix}-snapshot.json") &&
      [ "${#_bt_full}" -eq 64 ]; then
      _bt_snapshot=${_bt_full}
    else
      log WARN backup "target=${_bt_name} cannot resolve the full id of snapshot" \
        "${_bt_snapshot}: $(error_summary "${_bt_prefix}-snapshot.err")"
    fi
  fi

  _bt_manifest=''
  if [ -n "${_bt_snapshot}" ]; then
    _bt_manifest=$(manifest_attach "${_bt_snapshot}") || _bt_manifest=''
  fi
  case ${_bt_result} in
    ok)
      log INFO backup "target=${_bt_name} snapshot $(printf '%s' "${_bt_snapshot}" | cut -c 1-8)" \
        "added ${_bt_bytes} bytes" \
        "(${_bt_new} new, ${_bt_changed} changed files) in ${_bt_duration}s"
      ;;
    partial)
      log WARN backup "target=${_bt_name} snapshot ${_bt_snapshot} is partial: ${TARGET_ERROR}"
      ;;
    *)
      log ERROR backup "target=${_bt_name} failed: ${TARGET_ERROR}" \
        "(restic output in ${_bt_prefix}-backup.*)"
      ;;
  esac
  record_result "${_bt_name}" "${_bt_result}" "${_bt_snapshot}" "${_bt_bytes}" \
    "${_bt_new}" "${_bt_changed}" "${_bt_duration}" "${_bt_rc}" "${TARGET_ERROR}" \
    "${_bt_manifest}"
}

cmd_run() {
  load_common || return
  load_targets || return
  load_backup || return
  STATUS_FILE="${STATE_DIR}/status.json"
  if ! mkdir -p "${STATE_DIR}/logs" "${RESTIC_CACHE_DIR}"; then
    log ERROR run "cannot create ${STATE_DIR}/logs or ${RESTIC_CACHE_DIR}"
    return "${EX_FAIL}"
  fi
  lock_acquire
  case $? in
    0) ;;
    1)
      log INFO lock "another cycle is running (${LOCK_OWNER}); skipping this one"
      return "${EX_BUSY}"
      ;;
    *) return "${EX_FAIL}" ;;
  esac

  _run_started=$(now_epoch)
  RUN_ID="$(date -u -d "@${_run_started}" +%Y%m%dT%H%M%SZ)-$$"
  RUN_DIR="${STATE_DIR}/logs/run-${RUN_ID}"
  RESULTS_FILE="${RUN_DIR}/targets.jsonl"
  if ! mkdir -p "${RUN_DIR}" || ! : >"${RESULTS_FILE}"; then
    log ERROR run "cannot create ${RUN_DIR}"
    return "${EX_FAIL}"
  fi
  status_write_running "${_run_started}" || return "${EX_FAIL}"
  log INFO run "cycle started host=${BACKUP_HOST} targets=${TARGET_COUNT} run=${RUN_ID}"

  EXISTING_SOURCES=''
  MISSING_SOURCES=''
  set -f
  for _run_source in ${BACKUP_SOURCES}; do
    if [ -e "${_run_source}" ]; then
      EXISTING_SOURCES="${EXISTING_SOURCES} ${_run_source}"
    else
      MISSING_SOURCES="${MISSING_SOURCES} ${_run_source}"
      log ERROR sources "${_run_source} does not exist; is its volume mounted?"
    fi
  done
  set +f

  if [ -z "${EXISTING_SOURCES}" ]; then
    _run_i=1
    while [ "${_run_i}" -le "${TARGET_COUNT}" ]; do
      record_result "$(target_get "${_run_i}" NAME)" failed '' '' '' '' 0 '' \
        "no source exists:${MISSING_SOURCES}" '' || return "${EX_FAIL}"
      _run_i=$((_run_i + 1))
    done
  else
    manifest_create
    _run_i=1
    while [ "${_run_i}" -le "${TARGET_COUNT}" ]; do
      backup_target "${_run_i}" || log ERROR run "cannot record the result of target ${_run_i}"
      _run_i=$((_run_i + 1))
    done
    manifest_finish
  fi

  _run_results=$(jq -r '.result' "${RESULTS_FILE}" | sort -u | tr '\n' ' ') || _run_results=''
  _run_count=$(jq -s 'length' "${RESULTS_FILE}") || _run_count=0
  if [ "${_run_count}" != "${TARGET_COUNT}" ]; then
    _run_state=failed
  else
    case " ${_run_results}" in
      *' failed '* | *' skipped '*) _run_state=failed ;;
      *' partial '*) _run_state=partial ;;
      ' ok ') _run_state=ok ;;
      *) _run_state=failed ;;
    esac
  fi
  _run_finished=$(now_epoch)
  status_write_final "${_run_state}" "${_run_started}" "${_run_finished}" "${RESULTS_FILE}" ||
    _run_state=failed
  logs_prune
  _run_failed=$(jq -r 'select(.result != "ok") | .name' "${RESULTS_FILE}" | tr '\n' ' ')
  case ${_run_state} in
    ok)
      log INFO run "cycle ok in $((_run_finished - _run_started))s"
      return "${EX_OK}"
      ;;
    partial)
      log WARN run "cycle partial; incomplete targets: ${_run_failed}"
      return "${EX_PARTIAL}"
      ;;
    *)
      log ERROR run "cycle failed; targets without a complete snapshot: ${_run_failed}"
      return "${EX_FAIL}"
      ;;
  esac
}

#######################################
# daemon
#######################################

# daemon_cycle: runs `run` as a child process (own PID for the lock, own exit code) and
# waits for it; a SIGTERM to the daemon is passed on to it.
daemon_cycle() {
  sh "${AGENT_SELF}" run &
  track_child "$!" TERM
  wait_child "${CHILD_PID}"
  _dc_rc=$?
  CHILD_PID=''
  log INFO daemon "cycle finished with exit code ${_dc_rc}"
}

cmd_daemon() {
  load_common || return
  load_targets || return
  load_backup || return
  _d_schedule=${BACKUP_SCHEDULE:-}
  cron_matches "${_d_schedule}" "$(clock)"
  _d_valid=$?
  if [ "${_d_valid}" -eq 2 ]; then
    log ERROR config "BACKUP_SCHEDULE='${_d_schedule}' is not a 5-field cron expression" \
      "(minute hour day-of-month month day-of-week), e.g. '0 2 * * *'"
    return "${EX_USAGE}"
  fi
  log INFO daemon "started; schedule='${_d_schedule}' TZ=${TZ:-UTC} host=${BACKUP_HOST}"
  case ${BACKUP_RUN_ON_START:-false} in
    true | yes | 1)
      log INFO daemon "BACKUP_RUN_ON_START: running a cycle now"
      daemon_cycle
      ;;
  esac
  _d_last=''
  while [ -z "${INTERRUPTED}" ]; do
    _d_now=$(clock)
    sleep $((60 - _d_now % 60)) &
    track_child "$!" TERM
    wait_child "${CHILD_PID}"
    CHILD_PID=''
    [ -z "${INTERRUPTED}" ] || break
    _d_minute=$(($(clock) / 60 * 60))
    [ "${_d_minute}" != "${_d_last}" ] || continue
    _d_last=${_d_minute}
    if cron_matches "${_d_schedule}" "${_d_minute}"; then
      log INFO daemon "schedule matches $(iso_utc "${_d_minute}"); starting a cycle"
      daemon_cycle
    fi
  done
  log INFO daemon "stopped"
  return "${EX_OK}"
}

#######################################
# snapshots, restore, verify
#######################################

# select_targets NAME: sets SELECTED_TARGETS (indexes) to the named target, or all.
select_targets() {
  if [ -z "$1" ]; then
    SELECTED_TARGETS=''
    _st_i=1
    while [ "${_st_i}" -le "${TARGET_COUNT}" ]; do
      SELECTED_TARGETS="${SELECTED_TARGETS} ${_st_i}"
      _st_i=$((_st_i + 1))
    done
    return 0
  fi
  if ! SELECTED_TARGETS=$(target_index "$1"); then
    log ERROR config "no target named '$1'; targets are:$(list_target_names)"
    return "${EX_USAGE}"
  fi
  return 0
}

list_target_names() {
  _ln_i=1
  while [ "${_ln_i}" -le "${TARGET_COUNT}" ]; do
    printf ' %s' "$(target_get "${_ln_i}" NAME)"
    _ln_i=$((_ln_i + 1))
  done
}

# make_tmp_work: a scratch directory for restic output, removed on exit.
make_tmp_work() {
  if ! TMP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/backup-agent.XXXXXX"); then
    log ERROR tmp "cannot create a directory in ${TMPDIR:-/tmp}"
    return "${EX_FAIL}"
  fi
  return 0
}

cmd_snapshots() {
  _sn_target=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target)
        [ "$#" -ge 2 ] || { usage_error "--target needs a name"; return; }
        _sn_target=$2
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *)
        usage_error "snapshots: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  select_targets "${_sn_target}" || return
  make_tmp_work || return
  _sn_status=${EX_OK}
  for _sn_i in ${SELECTED_TARGETS}; do
    _sn_name=$(target_get "${_sn_i}" NAME)
    _sn_started=$(clock)
    run_restic "${_sn_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" snapshots "$@"
    _sn_rc=$?
    if [ "${_sn_rc}" -ne 0 ]; then
      log ERROR snapshots "target=${_sn_name} $(describe_failure "${_sn_rc}" "${TMP_WORK}/err" \
        "${_sn_started}")"
      _sn_status=${EX_FAIL}
      continue
    fi
    log INFO snapshots "target=${_sn_name} repository listed"
    printf '== target %s ==\n' "${_sn_name}"
    cat "${TMP_WORK}/out" || _sn_status=${EX_FAIL}
  done
  return "${_sn_status}"
}

cmd_restore() {
  _rs_target=''
  _rs_snapshot=latest
  _rs_to=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target | --snapshot | --to)
        [ "$#" -ge 2 ] || { usage_error "$1 needs a value"; return; }
        case $1 in
          --target) _rs_target=$2 ;;
          --snapshot) _rs_snapshot=$2 ;;
          --to) _rs_to=$2 ;;
        esac
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *)
        usage_error "restore: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  if [ -z "${_rs_target}" ]; then
    _rs_i=1
  else
    select_targets "${_rs_target}" || return
    _rs_i=${SELECTED_TARGETS}
  fi
  _rs_name=$(target_get "${_rs_i}" NAME)
  [ -n "${_rs_to}" ] || _rs_to=${BACKUP_RESTORE_DIR:-/tmp/restore}
  if ! mkdir -p "${_rs_to}"; then
    log ERROR restore "cannot create ${_rs_to}"
    return "${EX_FAIL}"
  fi
  make_tmp_work || return
  if [ "${_rs_snapshot}" = latest ]; then
    if [ -z "${BACKUP_HOST:-}" ]; then
      log ERROR config "BACKUP_HOST is empty: needed to find this host's latest snapshot"
      return "${EX_USAGE}"
    fi
    set -- restore latest --host "${BACKUP_HOST}" --target "${_rs_to}" "$@"
  else
    set -- restore "${_rs_snapshot}" --target "${_rs_to}" "$@"
  fi
  log INFO restore "target=${_rs_name} snapshot ${_rs_snapshot} to ${_rs_to}"
  _rs_started=$(clock)
  run_restic "${_rs_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" "$@"
  _rs_rc=$?
  cat "${TMP_WORK}/out" || true
  if [ "${_rs_rc}" -eq 1 ]; then
    # Without CAP_CHOWN (the sidecar drops it) restic restores contents, modes and links but
    # cannot give entries back to their owners: say so, and how to restore them too.
    _rs_errors=$(grep -c '^ignoring error for ' "${TMP_WORK}/err")
    _rs_owner=$(grep -c '^ignoring error for .*chown.*operation not permitted' "${TMP_WORK}/err")
    if [ "${_rs_errors}" -gt 0 ] && [ "${_rs_errors}" -eq "${_rs_owner}" ]; then
      log WARN restore "target=${_rs_name} contents, modes and links restored to ${_rs_to};" \
        "ownership of ${_rs_owner} entries not restored: this container lacks CAP_CHOWN." \
        "To restore owners as well, run the restore in a container with" \
        "--cap-add CHOWN --cap-add FOWNER (e.g. docker run with this sidecar's volumes)"
      return "${EX_OK}"
    fi
  fi
  if [ "${_rs_rc}" -ne 0 ]; then
    log ERROR restore "target=${_rs_name} $(describe_failure "${_rs_rc}" "${TMP_WORK}/err" \
      "${_rs_started}")"
    return "${EX_FAIL}"
  fi
  log INFO restore "target=${_rs_name} restored snapshot ${_rs_snapshot} to ${_rs_to}" \
    "in $(($(clock) - _rs_started))s"
  return "${EX_OK}"
}

cmd_verify() {
  _vf_target=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target)
        [ "$#" -ge 2 ] || { usage_error "--target needs a name"; return; }
        _vf_target=$2
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *)
        usage_error "verify: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  select_targets "${_vf_target}" || return
  make_tmp_work || return
  _vf_status=${EX_OK}
  for _vf_i in ${SELECTED_TARGETS}; do
    _vf_name=$(target_get "${_vf_i}" NAME)
    _vf_started=$(clock)
    run_restic "${_vf_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" check "$@"
    _vf_rc=$?
    if [ "${_vf_rc}" -ne 0 ]; then
      log ERROR verify "target=${_vf_name} check failed: $(describe_failure "${_vf_rc}" \
        "${TMP_WORK}/err" "${_vf_started}")"
      _vf_status=${EX_FAIL}
    else
      log INFO verify "target=${_vf_name} repository checks clean in" \
        "$(($(clock) - _vf_started))s"
    fi
  done
  return "${_vf_status}"
}

#######################################
# health
#######################################

# cmd_health: reads status.json only; prints one line saying why; 0 while the last
# successful cycle is younger than BACKUP_MAX_AGE_SECONDS.
cmd_health() {
  _h_state_dir=${BACKUP_STATE_DIR:-/backup/agent}
  _h_status="${_h_state_dir}/status.json"
  _h_max=${BACKUP_MAX_AGE_SECONDS:-93600}
  if ! is_uint "${_h_max}"; then
    printf 'unhealthy: BACKUP_MAX_AGE_SECONDS=%s is not a number of seconds\n' "${_h_max}"
    return "${EX_FAIL}"
  fi
  if [ ! -f "${_h_status}" ]; then
    printf 'unhealthy: no backup cycle has finished yet (%s does not exist)\n' "${_h_status}"
    return "${EX_FAIL}"
  fi
  if ! _h_fields=$(jq -r '"\(.last_success_epoch // "none") \(.state // "unknown") " +
      ([.targets[]? | select(.result != "ok") | .name] | join(","))' "${_h_status}" 2>/dev/null)
  then
    printf 'unhealthy: %s is not readable JSON\n' "${_h_status}"
    return "${EX_FAIL}"
  fi
  read -r _h_epoch _h_state _h_bad <<EOF
${_h_fields}
EOF
  _h_last="last cycle ${_h_state}"
  if [ -n "${_h_bad:-}" ] && [ "${_h_state}" != ok ]; then
    _h_last="${_h_last} (incomplete: ${_h_bad})"
  fi
  if ! is_uint "${_h_epoch}"; then
    printf 'unhealthy: no successful backup cycle yet; %s\n' "${_h_last}"
    return "${EX_FAIL}"
  fi
  _h_age=$(($(now_epoch) - _h_epoch))
  if [ "${_h_age}" -gt "${_h_max}" ]; then
    printf 'unhealthy: last successful backup %ss ago at %s, older than %ss; %s\n' \
      "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_max}" "${_h_last}"
    return "${EX_FAIL}"
  fi
  printf 'healthy: last successful backup %ss ago at %s (limit %ss); %s\n' \
    "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_max}" "${_h_last}"
  return "${EX_OK}"
}

#######################################
# cron-match (hidden, for tests and operators)
#######################################

# cmd_cron_match "EXPR" [EPOCH]: exit 0 and prints "match" when EXPR matches the minute of
# EPOCH (default now) in TZ, 1 "no match", 2 invalid expression.
cmd_cron_match() {
  if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    usage_error "cron-match needs \"EXPR\" [EPOCH]"
    return
  fi
  cron_matches "$1" "${2:-$(clock)}"
  case $? in
    0)
      printf 'match\n'
      return "${EX_OK}"
      ;;
    1)
      printf 'no match\n'
      return "${EX_FAIL}"
      ;;
    *)
      printf 'invalid cron expression: %s\n' "$1" >&2
      return "${EX_USAGE}"
      ;;
  esac
}

usage() {
  cat <<'EOF'
usage: backup-agent COMMAND [OPTIONS]

  daemon                      run `run` whenever BACKUP_SCHEDULE matches (never returns)
  run                         one backup cycle now, to every target; writes status.json
  snapshots [--target NAME] [-- RESTIC_ARGS]
                              list the snapshots of one target or of every target
  restore [--target NAME] [--snapshot ID|latest] [--to DIR] [-- RESTIC_ARGS]
                              restore a snapshot (default: this host's latest, first
                              target, to BACKUP_RESTORE_DIR); paths keep their absolute
                              form under DIR, e.g. DIR/backup/sources/<volume>/...;
                              a warning (exit 0) when only owners could not be set
  verify [--target NAME] [-- RESTIC_ARGS]
                              restic check of one target or of every target
  health                      exit 0 while the last successful cycle is fresh (reads
                              status.json only)

Configuration: environment variables, see docs/agent-contract.md.
Exit codes: 0 ok, 1 failure, 2 usage/configuration error, 3 partial, 75 cycle already running.
EOF
}

usage_error() {
  log ERROR usage "$1"
  usage >&2
  return "${EX_USAGE}"
}

main() {
  if [ "$#" -lt 1 ]; then
    usage_error "no command given"
    exit
  fi
  _main_command=$1
  shift
  trap on_exit EXIT
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  trap 'on_signal HUP' HUP
  case ${_main_command} in
    run) cmd_run "$@" ;;
    daemon) cmd_daemon "$@" ;;
    snapshots) cmd_snapshots "$@" ;;
    restore) cmd_restore "$@" ;;
    verify) cmd_verify "$@" ;;
    health) cmd_health "$@" ;;
    cron-match) cmd_cron_match "$@" ;;
    help | -h | --help)
      usage
      exit "${EX_OK}"
      ;;
    *) usage_error "unknown command '${_main_command}'" ;;
  esac
  exit
}

main "$@"
