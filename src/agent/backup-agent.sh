#!/bin/sh
#
# backup-agent: the restic backup agent of a cdktf-container-backup sidecar.
#
# POSIX sh; runs under busybox sh and dash with busybox applets as the only coreutils, and
# with restic 0.14 or newer. Every decision is made at synth time and arrives as environment
# variables (secrets as files). docs/agent-contract.md is the reference for the variables,
# the paths, status.json and the exit codes.
#
# Usage: backup-agent daemon | run | snapshots | restore | verify | prune | health   (see usage())
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
# Seconds before the first retry of a failed start/unpause; doubled after each attempt.
readonly RELEASE_FIRST_DELAY=1

AGENT_SELF=$0
# The child process (restic, sleep, or a `run` started by the daemon) that signals go to.
CHILD_PID=''
CHILD_SIGNAL='INT'
SIGNALS_SEEN=0
INTERRUPTED=''
LOCK_HELD=''
TMP_WORK=''
# What the quiesce step stopped or paused and has not undone yet ('' when nothing).
QUIESCE_HELD=''

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

# is_scope SCOPE: true for a target index (`2`) or a replica of one (`2_REPLICA_1`).
is_scope() {
  case $1 in
    *_REPLICA_*)
      is_uint "${1%%_REPLICA_*}" && is_uint "${1#*_REPLICA_}"
      ;;
    *) is_uint "$1" ;;
  esac
}

# target_get SCOPE KEY: prints BACKUP_TARGET_<SCOPE>_<KEY> (empty when unset). SCOPE is a
# target index or a replica scope (is_scope), validated, and KEY is a constant, so the eval
# is safe.
target_get() {
  is_scope "$1" || return 1
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
    case $(target_get "${_lt_i}" APPEND_ONLY) in
      '' | true | false) ;;
      *)
        log ERROR config "BACKUP_TARGET_${_lt_i}_APPEND_ONLY='$(target_get "${_lt_i}" APPEND_ONLY)'" \
          "must be 'true' (the server refuses deletes: no forget, no prune) or 'false'"
        return "${EX_USAGE}"
        ;;
    esac
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

# load_policy: retention, verification, quiesce and notification settings (all optional).
# Returns EX_USAGE on a bad value, with a log line that says what to set.
load_policy() {
  RETENTION=${BACKUP_RETENTION:-}
  set -f
  # shellcheck disable=SC2086 # split the flags on purpose
  set -- ${RETENTION}
  set +f
  while [ "$#" -gt 0 ]; do
    case $1:${2:-} in
      --keep-*:?*) ;;
      *)
        log ERROR config "BACKUP_RETENTION='${RETENTION}' must be restic forget --keep-* flags," \
          "each with its value, e.g. '--keep-daily 7 --keep-weekly 4'"
        return "${EX_USAGE}"
        ;;
    esac
    case $2 in
      -*)
        log ERROR config "BACKUP_RETENTION='${RETENTION}': $1 has no value"
        return "${EX_USAGE}"
        ;;
    esac
    shift 2
  done
  # Retention and verification filter by these tags (all of them: restic reads a,b as AND).
  TAG_FILTER=$(printf '%s' "${BACKUP_TAGS:-}" | tr -s ' \t' ',,' | sed 's/^,//; s/,$//')

  VERIFY_SUBSETS=${BACKUP_VERIFY_READ_DATA_SUBSETS:-0}
  if ! is_uint "${VERIFY_SUBSETS}"; then
    log ERROR config "BACKUP_VERIFY_READ_DATA_SUBSETS='${VERIFY_SUBSETS}' must be the number of" \
      "cycles that together read all data (restic check --read-data-subset n/t), or 0"
    return "${EX_USAGE}"
  fi
  strip_zeros "${VERIFY_SUBSETS}"
  VERIFY_SUBSETS=${STRIPPED}
  # Informational (the period VERIFY_SUBSETS was derived from), shown in status.json.
  VERIFY_DAYS_JSON=null
  if is_uint "${BACKUP_VERIFY_READ_DATA_DAYS:-}"; then
    strip_zeros "${BACKUP_VERIFY_READ_DATA_DAYS}"
    VERIFY_DAYS_JSON=${STRIPPED}
  fi
  DRILL_DIR=${BACKUP_VERIFY_DRILL_DIR:-${STATE_DIR}/drill}
  case ${DRILL_DIR} in
    /?*) ;;
    *)
      log ERROR config "BACKUP_VERIFY_DRILL_DIR='${DRILL_DIR}' must be an absolute path," \
        "e.g. ${STATE_DIR}/drill"
      return "${EX_USAGE}"
      ;;
  esac

  QUIESCE_MODE=${BACKUP_QUIESCE_MODE:-none}
  case ${QUIESCE_MODE} in
    none) ;;
    stop | pause | exec) load_quiesce || return ;;
    *)
      log ERROR config "BACKUP_QUIESCE_MODE='${QUIESCE_MODE}' must be none, stop, pause or exec"
      return "${EX_USAGE}"
      ;;
  esac

  NOTIFY_URL_FILE=${BACKUP_NOTIFY_URL_FILE:-}
  NOTIFY_TIMEOUT=${BACKUP_NOTIFY_TIMEOUT_SECONDS:-15}
  if ! is_uint "${NOTIFY_TIMEOUT}" || [ "${NOTIFY_TIMEOUT}" -lt 1 ]; then
    log ERROR config "BACKUP_NOTIFY_TIMEOUT_SECONDS='${NOTIFY_TIMEOUT}' must be a number of" \
      "seconds, e.g. 15"
    return "${EX_USAGE}"
  fi
  notify_url_check
  return 0
}

# load_quiesce: the Docker API settings of the stop, pause and exec modes.
load_quiesce() {
  DOCKER_API=${BACKUP_DOCKER_API:-}
  case ${DOCKER_API} in
    http://?*) DOCKER_API=${DOCKER_API%/} ;;
    *)
      log ERROR config "BACKUP_DOCKER_API='${DOCKER_API}' must be the socket proxy's URL," \
        "e.g. http://db-backup-docker-api:2375 (BACKUP_QUIESCE_MODE=${QUIESCE_MODE} needs it)"
      return "${EX_USAGE}"
      ;;
  esac
  QUIESCE_CONTAINER=${BACKUP_QUIESCE_CONTAINER:-}
  case ${QUIESCE_CONTAINER} in
    '' | *[!A-Za-z0-9._-]*)
      log ERROR config "BACKUP_QUIESCE_CONTAINER='${QUIESCE_CONTAINER}' must be the name of" \
        "the container to ${QUIESCE_MODE}"
      return "${EX_USAGE}"
      ;;
  esac
  QUIESCE_TIMEOUT=${BACKUP_QUIESCE_TIMEOUT_SECONDS:-60}
  if ! is_uint "${QUIESCE_TIMEOUT}" || [ "${QUIESCE_TIMEOUT}" -lt 1 ]; then
    log ERROR config "BACKUP_QUIESCE_TIMEOUT_SECONDS='${QUIESCE_TIMEOUT}' must be a number of" \
      "seconds (1 or more)"
    return "${EX_USAGE}"
  fi
  strip_zeros "${QUIESCE_TIMEOUT}"
  QUIESCE_TIMEOUT=${STRIPPED}
  QUIESCE_ON_ERROR=${BACKUP_QUIESCE_ON_ERROR:-abort}
  case ${QUIESCE_ON_ERROR} in
    abort | continue) ;;
    *)
      log ERROR config "BACKUP_QUIESCE_ON_ERROR='${QUIESCE_ON_ERROR}' must be abort or continue"
      return "${EX_USAGE}"
      ;;
  esac
  RELEASE_ATTEMPTS=${BACKUP_QUIESCE_RELEASE_ATTEMPTS:-6}
  if ! is_uint "${RELEASE_ATTEMPTS}" || [ "${RELEASE_ATTEMPTS}" -lt 1 ]; then
    log ERROR config "BACKUP_QUIESCE_RELEASE_ATTEMPTS='${RELEASE_ATTEMPTS}' must be 1 or more"
    return "${EX_USAGE}"
  fi
  if [ "${QUIESCE_MODE}" = exec ] && [ -n "${BACKUP_QUIESCE_EXEC_BODY:-}" ] &&
    ! printf '%s' "${BACKUP_QUIESCE_EXEC_BODY}" |
    jq -e 'type == "object" and (.Cmd | type == "array" and length > 0)' >/dev/null 2>&1; then
    log ERROR config "BACKUP_QUIESCE_EXEC_BODY must be the JSON body of the exec call, e.g." \
      "{\"Cmd\":[\"pg_dumpall\"],\"AttachStdout\":true,\"AttachStderr\":true}"
    return "${EX_USAGE}"
  fi
  if [ "${QUIESCE_MODE}" = exec ] && [ -z "${BACKUP_QUIESCE_EXEC_BODY:-}" ] &&
    ! printf '%s' "${BACKUP_QUIESCE_COMMAND:-}" |
    jq -e 'type == "array" and length > 0 and all(type == "string")' >/dev/null 2>&1; then
    log ERROR config "BACKUP_QUIESCE_COMMAND='${BACKUP_QUIESCE_COMMAND:-}' must be a JSON array" \
      "of strings, e.g. [\"pg_dumpall\",\"-U\",\"postgres\",\"-f\",\"/data/dump.sql\"]"
    return "${EX_USAGE}"
  fi
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
# that target, so nothing leaks to the other targets. A replica scope (`2_REPLICA_1`) gets
# its own repository and variables, and its target's password file unless it has its own.
target_export_env() {
  _te_i=$1
  RESTIC_REPOSITORY=$(target_get "${_te_i}" REPOSITORY) || return 1
  export RESTIC_REPOSITORY
  _te_password_file=$(target_get "${_te_i}" PASSWORD_FILE) || return 1
  if [ -z "${_te_password_file}" ] && [ "${_te_i}" != "${_te_i%%_REPLICA_*}" ]; then
    _te_password_file=$(target_get "${_te_i%%_REPLICA_*}" PASSWORD_FILE) || return 1
  fi
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

# rest_credentials_in_url: restic before 0.17 reads REST server credentials only from the
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
  # jq reads them from its environment ($ENV), never from its arguments: a process's
  # arguments are world-readable in /proc/PID/cmdline.
  if ! _rc_auth=$(jq -rn '"\($ENV.RESTIC_REST_USERNAME | @uri):\($ENV.RESTIC_REST_PASSWORD | @uri)"'); then
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

# run_restic SCOPE OUT ERR ARGS...: runs `restic ARGS` against target (or replica) SCOPE with
# its environment (in a subshell, so nothing leaks to other targets), stdout and stderr
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
      | $p + {version: 1, host: $host, state: "running", started_at: $started,
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

# status_write_final STATE STARTED_EPOCH FINISHED_EPOCH RESULTS_FILE QUIESCE_JSON: the
# cycle's outcome; last_success_* (overall and per target) carried over where this cycle did
# not succeed; the verification, prune and notification sections carried over unchanged.
status_write_final() {
  _sf_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" --slurpfile results "$4" \
    --arg host "${BACKUP_HOST}" --arg state "$1" \
    --arg started "$(iso_utc "$2")" --arg finished "$(iso_utc "$3")" \
    --argjson started_epoch "$2" --argjson finished_epoch "$3" --argjson quiesce "$5" '
      ($prev[0] // {}) as $p
      | $p + {version: 1, host: $host, state: $state, started_at: $started,
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
                     last_success_epoch: ($old.last_success_epoch // null)} end)],
         quiesce: $quiesce}' \
    >"${_sf_tmp}"; then
    log ERROR status "cannot write ${_sf_tmp}"
    rm -f "${_sf_tmp}" || true
    return 1
  fi
  status_commit "${_sf_tmp}"
}

# status_update FILTER [JQ_ARGS...]: applies a jq FILTER to status.json (a minimal status
# when there is none yet) and commits it atomically. Only called under the cycle lock.
status_update() {
  _su_filter=$1
  shift
  _su_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" --arg host "${BACKUP_HOST:-}" "$@" \
    "(\$prev[0] // {version: 1, host: \$host, state: null, targets: []}) | ${_su_filter}" \
    >"${_su_tmp}"; then
    log ERROR status "cannot write ${_su_tmp}"
    rm -f "${_su_tmp}" || true
    return 1
  fi
  status_commit "${_su_tmp}"
}

# status_write_maintenance: merges what retention, prune and verification recorded in
# WORK_DIR (one JSON line per target, replica or drill) into status.json. A target's last
# check, a replica's last check, each target's last prune and the last drill are carried
# over until a newer one replaces them; verification.state is "failed" while any of those
# found errors (health is red then), "ok" when they all passed, "never" before the first.
status_write_maintenance() {
  _sm_names=$(list_target_names | jq -nR '[inputs | split(" ")[] | select(. != "")]') ||
    return 1
  _sm_due=$(prune_due_names | jq -nR '[inputs | split(" ")[] | select(. != "")]') || return 1
  # shellcheck disable=SC2016 # a jq program
  status_update '
    def last_named($list; $n): [$list[] | select(.name == $n)] | last;
    def key: "\(.target)/\(.name)";
    . as $p
    | .targets = [(.targets // [])[] | . as $t | last_named($retention; $t.name) as $r
        | if $r == null then . else . + {retention: ($r | del(.name))} end]
    | .prune = {schedule: $prune_schedule, due: $due,
        targets: [$names[] as $n | (last_named($prune; $n)
          // last_named($p.prune.targets // []; $n)) | select(. != null)]}
    | .verification = ((($p.verification // {}) | . as $old
        | {read_data_days: $days, read_data_subsets: $subsets,
           drill_schedule: $drill_schedule,
           targets: [$names[] as $n | (last_named($checks; $n)
             // last_named($old.targets // []; $n)) | select(. != null)],
           replicas: ([$replicas[] | key] as $fresh
             | [($old.replicas // [])[] | select((key as $k | $fresh | index($k)) == null)]
               + $replicas
             | map(select(.target as $t | $names | index($t) != null))),
           drill: (if ($drill | length) > 0 then $drill[-1] else ($old.drill // null) end)})
      | . + {errors: ([.targets[] | select(.result == "failed")
            | "target \(.name): check failed: \(.error // "?")"]
          + [.replicas[] | select(.result == "failed")
            | "replica \(.name) of \(.target): check failed: \(.error // "?")"]
          + [.drill // empty | select(.result == "failed")
            | "restore drill failed: \(.error // "?")"])}
      | . + {state: (if (.errors | length) > 0 then "failed"
          elif (.targets | length) + (.replicas | length) > 0 or .drill != null then "ok"
          else "never" end)})' \
    --argjson names "${_sm_names}" --argjson due "${_sm_due}" \
    --slurpfile retention "${WORK_DIR}/retention.jsonl" \
    --slurpfile prune "${WORK_DIR}/prune.jsonl" \
    --slurpfile checks "${WORK_DIR}/checks.jsonl" \
    --slurpfile replicas "${WORK_DIR}/replicas.jsonl" \
    --slurpfile drill "${WORK_DIR}/drill.jsonl" \
    --arg prune_schedule "${BACKUP_PRUNE_SCHEDULE:-}" \
    --arg drill_schedule "${BACKUP_VERIFY_DRILL_SCHEDULE:-}" \
    --argjson days "${VERIFY_DAYS_JSON}" \
    --argjson subsets "${VERIFY_SUBSETS}"
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
# BACKUP_QUIESCE_TIMEOUT_SECONDS. The exec-create body is BACKUP_QUIESCE_EXEC_BODY byte for
# byte (the Docker API proxy accepts no other), or, when that is unset (the agent run by
# hand, without the proxy), built from BACKUP_QUIESCE_COMMAND the same way. The start body
# is fixed: the proxy pins it too. Sets QUIESCE_RESULT and QUIESCE_ERROR.
quiesce_exec() {
  QUIESCE_RESULT=failed
  if [ -n "${BACKUP_QUIESCE_EXEC_BODY:-}" ]; then
    _qe_body=${BACKUP_QUIESCE_EXEC_BODY}
  elif ! _qe_body=$(jq -cn --argjson cmd "${BACKUP_QUIESCE_COMMAND}" \
    '{Cmd: $cmd, AttachStdout: true, AttachStderr: true}'); then
    QUIESCE_ERROR='cannot build the exec request from BACKUP_QUIESCE_COMMAND'
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
      QUIESCE_ERROR="${QUIESCE_ERROR} (BACKUP_QUIESCE_TIMEOUT_SECONDS); it may still be running"
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
    QUIESCE_RELEASE_ERROR="${QUIESCE_RELEASE_ERROR} not finish, and BACKUP_QUIESCE_MODE=none"
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
# Retention, prune and verification
#######################################

# record_step FILE NAME RESULT ERROR [EXTRA_JSON]: appends one step's outcome (with the time)
# to FILE, for status_write_maintenance.
record_step() {
  _rk_now=$(now_epoch)
  _rk_extra=${5:-}
  [ -n "${_rk_extra}" ] || _rk_extra='{}'
  if ! jq -cn --arg name "$2" --arg result "$3" --arg error "$4" --argjson extra "${_rk_extra}" \
    --arg at "$(iso_utc "${_rk_now}")" --argjson epoch "${_rk_now}" '
      {name: $name, result: $result, at: $at, epoch: $epoch,
       error: (if $error == "" then null else $error end)} + $extra' >>"$1"; then
    log ERROR status "cannot append to $1"
    return 1
  fi
  return 0
}

# append_only INDEX: true when target INDEX is append-only (BACKUP_TARGET_<i>_APPEND_ONLY):
# the server refuses to delete data, so forget and prune are skipped (restic would get 403).
append_only() {
  [ "$(target_get "$1" APPEND_ONLY)" = true ]
}

# APPEND_ONLY_NOTE: why retention and prune are skipped for an append-only target.
APPEND_ONLY_NOTE='the server refuses deletes; pruning this repository is the server administrator'"'"'s job'

# repository_locked ERRFILE: true when restic could not lock the repository because another
# process holds a lock. restic 0.14 has no --retry-lock: the step is deferred to the next
# cycle instead (a stale lock of a killed restic is removed by `restic unlock` each cycle).
repository_locked() {
  grep -q 'already locked' "$1" 2>/dev/null
}

# step_failure RC ERRFILE STARTED: sets STEP_RESULT (deferred when the repository is locked
# by someone else, failed otherwise) and STEP_ERROR.
step_failure() {
  if [ "$1" -ne "${EX_TARGET_ENV}" ] && repository_locked "$2"; then
    STEP_RESULT=deferred
    STEP_ERROR="the repository is locked by another process ($(error_summary "$2"));"
    STEP_ERROR="${STEP_ERROR} deferred to the next cycle"
  else
    STEP_RESULT=failed
    STEP_ERROR=$(describe_failure "$1" "$2" "$3")
  fi
}

# retention_target INDEX NAME SNAPSHOT: `restic forget` per BACKUP_RETENTION for this host's
# snapshots, after SNAPSHOT was made. Never removes SNAPSHOT, the last successful backup.
retention_target() {
  _ret_i=$1
  _ret_name=$2
  _ret_keep=$3
  _ret_prefix="${RUN_DIR}/${_ret_i}-${_ret_name}"
  _ret_file="${WORK_DIR}/retention.jsonl"
  if [ -z "${RETENTION}" ]; then
    record_step "${_ret_file}" "${_ret_name}" skipped \
      'no retention policy (BACKUP_RETENTION is empty)' '{"reason":"no-policy"}'
    return
  fi
  if append_only "${_ret_i}"; then
    log INFO retention "target=${_ret_name} skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${_ret_file}" "${_ret_name}" skipped '' \
      '{"reason":"append-only","removed":null,"kept":null,"protected":null}'
    return
  fi
  # What goes is computed first (--dry-run), then exactly those ids are forgotten, minus the
  # snapshot this cycle just made. Always passing `--keep-last 1` would not be enough: restic
  # keeps the newest snapshot by its *timestamp*, and after the clock jumped back (or with a
  # snapshot made with a future --time) that is not the one just written, so keep-last,
  # keep-within and the keep-<period> counts could all pick the last good backup for removal.
  # Grouping is host,tags, not restic's default host,paths: the tags are fixed per container,
  # while the paths change when a volume is added, which would start a new group and leave
  # the old group's snapshots outside the policy for ever.
  set -- forget --dry-run --json --host "${BACKUP_HOST}" --group-by host,tags
  if [ -n "${TAG_FILTER}" ]; then
    set -- "$@" --tag "${TAG_FILTER}"
  fi
  set -f
  # shellcheck disable=SC2086 # the --keep-* flags, split on purpose
  set -- "$@" ${RETENTION}
  set +f
  _ret_started=$(clock)
  run_restic "${_ret_i}" "${_ret_prefix}-forget-plan.json" "${_ret_prefix}-forget-plan.err" "$@"
  _ret_rc=$?
  if [ "${_ret_rc}" -ne 0 ]; then
    step_failure "${_ret_rc}" "${_ret_prefix}-forget-plan.err" "${_ret_started}"
    retention_record "${STEP_RESULT}" "${STEP_ERROR}" '' '' ''
    return
  fi
  if ! _ret_plan=$(jq -nrR --arg keep "${_ret_keep}" '
      def protected: $keep != "" and startswith($keep);
      [inputs | fromjson? | arrays | .[]] as $groups
      | ([$groups[] | (.remove // [])[] | .id] | unique) as $remove
      | "\([$groups[] | (.keep // [])[]] | length) \([$remove[] | select(protected)] | length) "
        + ([$remove[] | select(protected | not)] | join(" "))' \
    "${_ret_prefix}-forget-plan.json"); then
    retention_record failed "cannot read restic's forget plan in ${_ret_prefix}-forget-plan.json" \
      '' '' ''
    return
  fi
  read -r _ret_kept _ret_protected _ret_ids <<PLAN
${_ret_plan}
PLAN
  _ret_kept=$((_ret_kept + _ret_protected))
  if [ "${_ret_protected}" -gt 0 ]; then
    log WARN retention "target=${_ret_name} the policy would remove snapshot" \
      "$(printf '%s' "${_ret_keep}" | cut -c 1-8), the one this cycle just made (is a clock" \
      "or a snapshot time off?); keeping it: the last successful backup is never removed"
  fi
  if [ -z "${_ret_ids:-}" ]; then
    log INFO retention "target=${_ret_name} nothing to forget (${_ret_kept} snapshots kept)"
    retention_record ok '' 0 "${_ret_kept}" "${_ret_protected}"
    return
  fi
  set -f
  # shellcheck disable=SC2086 # snapshot ids (hex), split on purpose
  set -- forget ${_ret_ids}
  set +f
  _ret_count=$(($# - 1))
  _ret_started=$(clock)
  run_restic "${_ret_i}" "${_ret_prefix}-forget.out" "${_ret_prefix}-forget.err" "$@"
  _ret_rc=$?
  if [ "${_ret_rc}" -ne 0 ]; then
    step_failure "${_ret_rc}" "${_ret_prefix}-forget.err" "${_ret_started}"
    retention_record "${STEP_RESULT}" "${STEP_ERROR}" '' "${_ret_kept}" "${_ret_protected}"
    return
  fi
  log INFO retention "target=${_ret_name} forgot ${_ret_count} snapshots, kept ${_ret_kept}"
  retention_record ok '' "${_ret_count}" "${_ret_kept}" "${_ret_protected}"
}

# retention_record RESULT ERROR REMOVED KEPT PROTECTED: logs and records retention_target's
# outcome.
retention_record() {
  case $1 in
    deferred) log WARN retention "target=${_ret_name} $2" ;;
    failed) log ERROR retention "target=${_ret_name} failed: $2" ;;
  esac
  record_step "${_ret_file}" "${_ret_name}" "$1" "$2" "$(jq -cn --arg removed "$3" \
    --arg kept "$4" --arg protected "$5" '
      def num: (tonumber? // null);
      {removed: ($removed | num), kept: ($kept | num), protected: ($protected | num)}')"
}

# prune_target INDEX NAME: `restic prune` (an exclusive lock: deferred while another process
# holds a lock). Only unreferenced data goes; which snapshots exist was decided by forget.
prune_target() {
  if append_only "$1"; then
    rm -f "${DUE_DIR}/prune.$2" || log WARN prune "cannot remove ${DUE_DIR}/prune.$2"
    log INFO prune "target=$2 skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${WORK_DIR}/prune.jsonl" "$2" skipped '' '{"reason":"append-only"}'
    return 0
  fi
  _pt_prefix="${RUN_DIR}/$1-$2"
  log INFO prune "target=$2 started"
  _pt_started=$(clock)
  run_restic "$1" "${_pt_prefix}-prune.out" "${_pt_prefix}-prune.err" prune
  _pt_rc=$?
  if [ "${_pt_rc}" -eq 0 ]; then
    rm -f "${DUE_DIR}/prune.$2" || log WARN prune "cannot remove ${DUE_DIR}/prune.$2"
    log INFO prune "target=$2 done in $(($(clock) - _pt_started))s"
    record_step "${WORK_DIR}/prune.jsonl" "$2" ok ''
    return 0
  fi
  step_failure "${_pt_rc}" "${_pt_prefix}-prune.err" "${_pt_started}"
  if [ "${STEP_RESULT}" = deferred ]; then
    log WARN prune "target=$2 ${STEP_ERROR}"
  else
    log ERROR prune "target=$2 failed: ${STEP_ERROR}; it stays due"
    MAINTENANCE_FAILED=1
  fi
  record_step "${WORK_DIR}/prune.jsonl" "$2" "${STEP_RESULT}" "${STEP_ERROR}"
  return 1
}

# check_summary RC ERRFILE STARTED: describe_failure, led by restic check's first finding
# ("Pack ID does not match, ...") rather than its closing "Fatal: repository contains errors".
check_summary() {
  _cs_first=$(grep -v -e '^Fatal' -e '^[[:space:]]*$' "$2" 2>/dev/null | head -n 1 |
    tr -d '\r\033' | cut -c 1-300)
  _cs_text=$(describe_failure "$1" "$2" "$3")
  if [ -n "${_cs_first}" ]; then
    case ${_cs_text} in
      *"${_cs_first}"*) ;;
      *) _cs_text="${_cs_text}; ${_cs_first}" ;;
    esac
  fi
  printf '%s\n' "${_cs_text}"
}

# check_target INDEX NAME [RESTIC_ARGS...]: `restic check` of the target's repository. With
# BACKUP_VERIFY_READ_DATA_SUBSETS=t > 0 and no RESTIC_ARGS, it also reads the data of subset
# n/t; n is kept in STATE_DIR/verify/NAME.next-subset and advances (1..t, then 1 again) only
# after a check that passed, so every subset is read and found clean once per t passing
# cycles. A failed check counts in VERIFY_FAILED.
check_target() {
  _ck_i=$1
  _ck_name=$2
  shift 2
  _ck_prefix="${RUN_DIR}/${_ck_i}-${_ck_name}"
  _ck_subset=''
  _ck_n=0
  if [ "$#" -eq 0 ] && [ "${VERIFY_SUBSETS}" -gt 0 ]; then
    _ck_file="${STATE_DIR}/verify/${_ck_name}.next-subset"
    _ck_n=1
    if [ -r "${_ck_file}" ]; then
      read -r _ck_n <"${_ck_file}" || _ck_n=1
    fi
    is_uint "${_ck_n}" || _ck_n=1
    strip_zeros "${_ck_n}"
    _ck_n=${STRIPPED}
    if [ "${_ck_n}" -lt 1 ] || [ "${_ck_n}" -gt "${VERIFY_SUBSETS}" ]; then
      _ck_n=1
    fi
    _ck_subset="${_ck_n}/${VERIFY_SUBSETS}"
    set -- --read-data-subset "${_ck_subset}"
  fi
  log INFO check "target=${_ck_name} started${_ck_subset:+ (data subset ${_ck_subset})}"
  _ck_started=$(clock)
  run_restic "${_ck_i}" "${_ck_prefix}-check.out" "${_ck_prefix}-check.err" check "$@"
  _ck_rc=$?
  _ck_seconds=$(($(clock) - _ck_started))
  _ck_extra=$(jq -cn --arg subset "${_ck_subset}" --argjson seconds "${_ck_seconds}" \
    --arg args "$*" '{read_data_subset: (if $subset == "" then null else $subset end),
      check_arguments: (if $args == "" then null else $args end),
      duration_seconds: $seconds}')
  if [ "${_ck_rc}" -eq 0 ]; then
    if [ -n "${_ck_subset}" ]; then
      if ! mkdir -p "${STATE_DIR}/verify" ||
        ! printf '%s\n' $((_ck_n % VERIFY_SUBSETS + 1)) >"${_ck_file}"; then
        log WARN check "cannot record the next data subset in ${_ck_file}"
      fi
    fi
    log INFO check "target=${_ck_name} no errors found in ${_ck_seconds}s"
    record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" ok '' "${_ck_extra}"
    return 0
  fi
  step_failure "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}"
  if [ "${STEP_RESULT}" = deferred ]; then
    log WARN check "target=${_ck_name} ${STEP_ERROR}"
    VERIFY_INCOMPLETE=1
  else
    STEP_ERROR=$(check_summary "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}")
    log ERROR check "target=${_ck_name} check failed: ${STEP_ERROR}" \
      "(restic output in ${_ck_prefix}-check.*)"
    VERIFY_FAILED=1
  fi
  record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" "${STEP_RESULT}" "${STEP_ERROR}" \
    "${_ck_extra}"
  return 1
}

# check_replicas INDEX NAME: `restic --no-lock check` of each replica of the target
# (BACKUP_TARGET_<i>_REPLICA_<j>_*): read-only, so it works on an Object Lock bucket and with
# read-only credentials, and never blocks the replication writing to it.
check_replicas() {
  _cr_count=$(target_get "$1" REPLICA_COUNT)
  [ -n "${_cr_count}" ] || return 0
  if ! is_uint "${_cr_count}"; then
    log ERROR config "BACKUP_TARGET_$1_REPLICA_COUNT='${_cr_count}' is not a number; replicas" \
      "of target $2 not checked"
    VERIFY_FAILED=1
    return 1
  fi
  _cr_j=1
  while [ "${_cr_j}" -le "${_cr_count}" ]; do
    _cr_scope="$1_REPLICA_${_cr_j}"
    _cr_name=$(target_get "${_cr_scope}" NAME)
    [ -n "${_cr_name}" ] || _cr_name="replica-${_cr_j}"
    _cr_extra=$(jq -cn --arg target "$2" '{target: $target}')
    _cr_prefix="${RUN_DIR}/$1-$2-replica-${_cr_j}"
    if [ -z "$(target_get "${_cr_scope}" REPOSITORY)" ]; then
      STEP_ERROR="BACKUP_TARGET_${_cr_scope}_REPOSITORY is empty"
      log ERROR check "target=$2 replica=${_cr_name} ${STEP_ERROR}"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" failed "${STEP_ERROR}" "${_cr_extra}"
      VERIFY_FAILED=1
      _cr_j=$((_cr_j + 1))
      continue
    fi
    log INFO check "target=$2 replica=${_cr_name} started (read-only)"
    _cr_started=$(clock)
    run_restic "${_cr_scope}" "${_cr_prefix}-check.out" "${_cr_prefix}-check.err" --no-lock check
    _cr_rc=$?
    if [ "${_cr_rc}" -eq 0 ]; then
      log INFO check "target=$2 replica=${_cr_name} no errors found in" \
        "$(($(clock) - _cr_started))s"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" ok '' "${_cr_extra}"
    else
      STEP_ERROR=$(check_summary "${_cr_rc}" "${_cr_prefix}-check.err" "${_cr_started}")
      log ERROR check "target=$2 replica=${_cr_name} check failed: ${STEP_ERROR}"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" failed "${STEP_ERROR}" "${_cr_extra}"
      VERIFY_FAILED=1
    fi
    _cr_j=$((_cr_j + 1))
  done
}

# only_owner_errors ERRFILE: true when restic restore's only errors are failed chowns (the
# sidecar has no CAP_CHOWN); sets OWNER_ERRORS to their number.
only_owner_errors() {
  _oe_errors=$(grep -c '^ignoring error for ' "$1")
  OWNER_ERRORS=$(grep -c '^ignoring error for .*chown.*operation not permitted' "$1")
  [ "${_oe_errors}" -gt 0 ] && [ "${_oe_errors}" -eq "${OWNER_ERRORS}" ]
}

# drill_clean DIR: removes a drill's restore. Without CAP_DAC_OVERRIDE even root cannot
# delete from a folder it may not write, so folders are opened first (find -type d never
# follows a restored symlink out of DIR).
drill_clean() {
  [ -e "$1" ] || return 0
  find "$1" -type d -exec chmod u+rwx {} + 2>/dev/null || true
  rm -rf "$1" || log WARN drill "cannot remove $1"
}

# drill_target INDEX NAME: the restore drill of one target: restores this host's latest
# snapshot to DRILL_DIR/NAME and compares every file with the sha256 manifest recorded when
# that snapshot was made (manifests/<short-id>.sha256), then removes the restore. Appends
# the outcome to WORK_DIR/drill-targets.jsonl.
drill_target() {
  _dr_prefix="${RUN_DIR}/$1-$2-drill"
  _dr_dir="${DRILL_DIR}/$2"
  _dr_started=$(clock)
  _dr_id=''
  _dr_compared=''
  _dr_mismatches=''
  _dr_missing=''
  _dr_files='[]'
  log INFO drill "target=$2 started"
  run_restic "$1" "${_dr_prefix}-snapshots.json" "${_dr_prefix}-snapshots.err" \
    snapshots --json --host "${BACKUP_HOST}"
  _dr_rc=$?
  if [ "${_dr_rc}" -ne 0 ]; then
    _dr_result=failed
    _dr_error="cannot list the snapshots: $(describe_failure "${_dr_rc}" \
      "${_dr_prefix}-snapshots.err" "${_dr_started}")"
  elif ! _dr_id=$(jq -r 'sort_by(.time) | last | .id // empty' "${_dr_prefix}-snapshots.json") ||
    [ -z "${_dr_id}" ]; then
    _dr_result=failed
    _dr_error="no snapshot of host ${BACKUP_HOST} to restore"
  else
    drill_restore "$1" "$2"
  fi
  drill_clean "${_dr_dir}"
  case ${_dr_result} in
    ok)
      log INFO drill "target=$2 snapshot $(printf '%s' "${_dr_id}" | cut -c 1-8): all" \
        "${_dr_compared} files match the manifest ($(($(clock) - _dr_started))s)"
      ;;
    unverified) log WARN drill "target=$2 ${_dr_error}" ;;
    *)
      log ERROR drill "target=$2 failed: ${_dr_error}"
      VERIFY_FAILED=1
      ;;
  esac
  record_step "${WORK_DIR}/drill-targets.jsonl" "$2" "${_dr_result}" "${_dr_error}" \
    "$(jq -cn --arg id "${_dr_id}" --arg compared "${_dr_compared}" \
      --arg mismatches "${_dr_mismatches}" --arg missing "${_dr_missing}" \
      --argjson files "${_dr_files}" --argjson seconds $(($(clock) - _dr_started)) '
        def num: (tonumber? // null);
        {snapshot_id: (if $id == "" then null else $id end),
         files_compared: ($compared | num), mismatches: ($mismatches | num),
         missing: ($missing | num), mismatched_files: $files, duration_seconds: $seconds}')"
}

# drill_restore INDEX NAME: drill_target's restore and comparison of snapshot _dr_id. Sets
# _dr_result (ok, failed, or unverified when there is no manifest to compare with),
# _dr_error and the counts.
drill_restore() {
  _dr_short=$(printf '%s' "${_dr_id}" | cut -c 1-8)
  _dr_manifest="${STATE_DIR}/manifests/${_dr_short}.sha256"
  drill_clean "${_dr_dir}"
  if ! mkdir -p "${_dr_dir}"; then
    _dr_result=failed
    _dr_error="cannot create ${_dr_dir}"
    return
  fi
  _dr_started_restore=$(clock)
  run_restic "$1" "${_dr_prefix}-restore.out" "${_dr_prefix}-restore.err" \
    restore "${_dr_id}" --target "${_dr_dir}"
  _dr_rc=$?
  if [ "${_dr_rc}" -eq 1 ] && only_owner_errors "${_dr_prefix}-restore.err"; then
    _dr_rc=0
  fi
  if [ "${_dr_rc}" -ne 0 ]; then
    _dr_result=failed
    _dr_error="restore of snapshot ${_dr_short} failed: $(describe_failure "${_dr_rc}" \
      "${_dr_prefix}-restore.err" "${_dr_started_restore}")"
    return
  fi
  if [ ! -f "${_dr_manifest}" ]; then
    _dr_result=unverified
    _dr_error="snapshot ${_dr_short} restored, but there is no manifest to compare it with"
    _dr_error="${_dr_error} (${_dr_manifest}: BACKUP_MANIFEST off, or kept no longer)"
    return
  fi
  (cd "${_dr_dir}" && sha256sum -c "${_dr_manifest}") >"${_dr_prefix}-compare.out" \
    2>"${_dr_prefix}-compare.err"
  _dr_compared=$(grep -c . "${_dr_manifest}")
  _dr_failed=$(grep -c ': FAILED' "${_dr_prefix}-compare.out")
  _dr_missing=$(grep -c 'No such file' "${_dr_prefix}-compare.err")
  [ "${_dr_missing}" -le "${_dr_failed}" ] || _dr_missing=${_dr_failed}
  _dr_mismatches=$((_dr_failed - _dr_missing))
  if [ "${_dr_failed}" -eq 0 ]; then
    _dr_result=ok
    _dr_error=''
    return
  fi
  _dr_files=$(grep ': FAILED' "${_dr_prefix}-compare.out" | head -n 10 |
    sed 's/: FAILED.*$//' | jq -ncR '[inputs]' 2>/dev/null) || _dr_files='[]'
  [ -n "${_dr_files}" ] || _dr_files='[]'
  _dr_result=failed
  _dr_error="snapshot ${_dr_short}: ${_dr_failed} of ${_dr_compared} files do not match the"
  _dr_error="${_dr_error} manifest (${_dr_mismatches} differ, ${_dr_missing} missing; details in"
  _dr_error="${_dr_error} ${_dr_prefix}-compare.out)"
}

# drill_summary: the restore drill of this cycle, from the targets' lines, as one line of
# WORK_DIR/drill.jsonl.
drill_summary() {
  [ -s "${WORK_DIR}/drill-targets.jsonl" ] || return 0
  _ds_now=$(now_epoch)
  if ! jq -cs --arg at "$(iso_utc "${_ds_now}")" --argjson epoch "${_ds_now}" '
      {result: (if any(.[]; .result == "failed") then "failed"
         elif all(.[]; .result == "ok") then "ok" else "unverified" end),
       at: $at, epoch: $epoch,
       files_compared: (map(.files_compared // 0) | add),
       mismatches: (map(.mismatches // 0) | add),
       missing: (map(.missing // 0) | add),
       error: ([.[] | select(.result == "failed") | "target \(.name): \(.error)"] | join("; ")
         | if . == "" then null else . end),
       targets: map(del(.at, .epoch))}' "${WORK_DIR}/drill-targets.jsonl" \
    >>"${WORK_DIR}/drill.jsonl"; then
    log ERROR status "cannot summarise the drill"
  fi
}

# Due work: the daemon marks prune (per target) and the restore drill due when their
# schedule matches; whoever holds the cycle lock next does it, and only success clears it.

# mark_due NAME...: creates DUE_DIR/NAME for each.
mark_due() {
  mkdir -p "${DUE_DIR}" || return 1
  for _md_name in "$@"; do
    : >"${DUE_DIR}/${_md_name}" || return 1
  done
}

# prune_due_names: the targets whose prune is due, space-separated.
prune_due_names() {
  _pd_i=1
  while [ "${_pd_i}" -le "${TARGET_COUNT}" ]; do
    _pd_name=$(target_get "${_pd_i}" NAME)
    if [ -f "${DUE_DIR}/prune.${_pd_name}" ]; then
      printf ' %s' "${_pd_name}"
    fi
    _pd_i=$((_pd_i + 1))
  done
}

# due_work REACHABLE: the prune and restore drill that are due, for the target indexes in
# REACHABLE (space-separated): prune per target, then the replicas' checks and the drill.
due_work() {
  for _dw_i in $1; do
    [ -z "${INTERRUPTED}" ] || return 0
    _dw_name=$(target_get "${_dw_i}" NAME)
    if [ -f "${DUE_DIR}/prune.${_dw_name}" ]; then
      [ -n "${UNLOCKED:-}" ] || unlock_target "${_dw_i}" "${_dw_name}"
      prune_target "${_dw_i}" "${_dw_name}" || true
    fi
  done
  [ -f "${DUE_DIR}/drill" ] || return 0
  verification_drill "$1"
  if [ -z "${INTERRUPTED}" ]; then
    rm -f "${DUE_DIR}/drill" || log WARN drill "cannot remove ${DUE_DIR}/drill"
  fi
}

# verification_drill INDEXES: the replicas' read-only checks and the restore drill of the
# targets in INDEXES.
verification_drill() {
  for _vd_i in $1; do
    [ -z "${INTERRUPTED}" ] || return 0
    check_replicas "${_vd_i}" "$(target_get "${_vd_i}" NAME)"
  done
  if [ -z "${BACKUP_HOST:-}" ]; then
    log ERROR config "BACKUP_HOST is empty: the restore drill needs it to find this host's" \
      "latest snapshot"
    VERIFY_FAILED=1
    return
  fi
  for _vd_i in $1; do
    [ -z "${INTERRUPTED}" ] || break
    [ -n "${UNLOCKED:-}" ] || unlock_target "${_vd_i}" "$(target_get "${_vd_i}" NAME)"
    drill_target "${_vd_i}" "$(target_get "${_vd_i}" NAME)"
  done
  drill_summary
}

#######################################
# Notification
#######################################

# notify_failure KIND: POSTs a small JSON report (host, state, the failed targets, quiesce and
# verification outcome, an excerpt of status.json) to the webhook whose URL is in
# BACKUP_NOTIFY_URL_FILE, when set, bounded by BACKUP_NOTIFY_TIMEOUT_SECONDS. A webhook that
# fails is logged and recorded in status.json, and never fails the cycle. The URL carries the
# webhook's secret: it is never logged and never put in a process's arguments (world-readable
# in /proc/PID/cmdline), so not busybox wget, which takes the URL only there. Instead busybox
# `nc HOST PORT -e` connects and hands the socket to `ssl_client -s FD -n HOST` (what
# Alpine's wget itself runs for https; it verifies the server's certificate), which sends the
# request written to a 0600 file: only the host name is in an argument. https only: an
# http:// URL is refused (notify_url_check), the token would cross the network in clear.
notify_failure() {
  [ -n "${NOTIFY_URL_FILE}" ] || return 0
  notify_url_parse || {
    notify_record failed "${NOTIFY_URL_ERROR}"
    return 0
  }
  if ! _nt_body=$(jq -c --arg kind "$1" --arg at "$(iso_utc "$(now_epoch)")" '
      {host, kind: $kind, at: $at, state,
       failed_targets: [.targets[]? | select(.result != "ok")
         | {name, result, error}],
       quiesce: (.quiesce // null | if . == null then null
         else {mode, result, error, release, release_error} end),
       verification: (.verification // null | if . == null then null
         else {state, errors} end),
       status: {started_at, finished_at, last_success_at}}' "${STATUS_FILE}"); then
    notify_record failed "cannot build the report from ${STATUS_FILE}"
    return 0
  fi
  _nt_request="${RUN_DIR}/notify.request"
  _nt_answer="${RUN_DIR}/notify.out"
  if ! (
    umask 077
    printf 'POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: backup-agent\r\n' \
      "${NOTIFY_PATH}" "${NOTIFY_HOST_HEADER}"
    printf 'Content-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n' \
      "$(printf '%s' "${_nt_body}" | wc -c | tr -d ' ')"
    if [ -n "${NOTIFY_USERINFO}" ]; then
      printf 'Authorization: Basic %s\r\n' "$(printf '%s' "${NOTIFY_USERINFO}" | base64 | tr -d '\n')"
    fi
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
    2??)
      notify_record ok "HTTP ${_nt_status}"
      return 0
      ;;
    ?*)
      notify_record failed "HTTP ${_nt_status}"
      return 0
      ;;
  esac
  if [ $(($(clock) - _nt_started)) -ge "${NOTIFY_TIMEOUT}" ]; then
    notify_record failed "no answer within ${NOTIFY_TIMEOUT}s"
  else
    # nc and ssl_client name the host at most; drop anything URL-shaped all the same.
    _nt_why=$(grep -v -e '^Terminated' -e '^Killed' "${RUN_DIR}/notify.err" |
      tail -n 1 | sed 's#[a-z]*://[^ ]*#<url>#g' | cut -c 1-200)
    notify_record failed "${_nt_why:-no answer from ${NOTIFY_HOST}:${NOTIFY_PORT} (exit ${_nt_rc})}"
  fi
  return 0
}

# notify_url_parse: reads NOTIFY_URL_FILE and sets NOTIFY_HOST, NOTIFY_PORT, NOTIFY_PATH
# (path and query, with the token), NOTIFY_HOST_HEADER and NOTIFY_USERINFO. Refuses anything
# but https://HOST[:PORT][/PATH] (NOTIFY_URL_ERROR says why, without the URL).
notify_url_parse() {
  _nu_url=''
  if [ -r "${NOTIFY_URL_FILE}" ]; then
    _nu_url=$(tr -d ' \t\r\n' <"${NOTIFY_URL_FILE}")
  fi
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
    *@*)
      NOTIFY_USERINFO=${_nu_authority%@*}
      _nu_authority=${_nu_authority##*@}
      ;;
  esac
  NOTIFY_HOST_HEADER=${_nu_authority}
  NOTIFY_HOST=${_nu_authority%:*}
  NOTIFY_PORT=443
  [ "${NOTIFY_HOST}" = "${_nu_authority}" ] || NOTIFY_PORT=${_nu_authority##*:}
  case ${NOTIFY_HOST} in
    '' | -* | *[!A-Za-z0-9.-]*)
      NOTIFY_URL_ERROR="the webhook URL in ${NOTIFY_URL_FILE} has no usable host name"
      return 1
      ;;
  esac
  if ! is_uint "${NOTIFY_PORT}"; then
    NOTIFY_URL_ERROR="the webhook URL in ${NOTIFY_URL_FILE} has a bad port"
    return 1
  fi
  case ${NOTIFY_PATH} in
    *[!A-Za-z0-9._~:/?@!\$\&\'\(\)*+,\;=%-]*)
      NOTIFY_URL_ERROR="the webhook URL in ${NOTIFY_URL_FILE} has characters a URL cannot hold"
      return 1
      ;;
  esac
  return 0
}

# notify_url_check: at start, says at once when the webhook URL will be refused (the cycle
# itself goes on: a bad webhook must not stop the backups).
notify_url_check() {
  [ -n "${NOTIFY_URL_FILE}" ] || return 0
  notify_url_parse && return 0
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

# unlock_target INDEX NAME: `restic unlock`, which removes only stale locks (of a killed or
# interrupted restic on this host; restic 0.14's check leaves its lock when interrupted), never
# --remove-all. restic 0.14 refuses an exclusive lock while any lock exists, stale or not, so
# this goes before every backup, forget, check, prune and drill; a failure is a warning.
unlock_target() {
  if ! run_restic "$1" "${RUN_DIR}/$1-$2-unlock.out" "${RUN_DIR}/$1-$2-unlock.err" unlock; then
    log WARN unlock "target=$2 restic unlock failed: $(error_summary "${RUN_DIR}/$1-$2-unlock.err")"
  fi
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
  unlock_target "${_bt_i}" "${_bt_name}"

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

# cycle_begin KIND: takes the cycle lock, and creates this cycle's log folder RUN_DIR
# (logs/run-<UTC time>-<pid>[-KIND]) and the files where its steps record their results
# (WORK_DIR). Returns EX_BUSY when another cycle holds the lock.
cycle_begin() {
  STATUS_FILE="${STATE_DIR}/status.json"
  QUIESCE_MARKER="${STATE_DIR}/quiesce.held"
  DUE_DIR="${STATE_DIR}/due"
  VERIFY_FAILED=''
  VERIFY_INCOMPLETE=''
  MAINTENANCE_FAILED=''
  UNLOCKED=''
  if ! mkdir -p "${STATE_DIR}/logs" "${RESTIC_CACHE_DIR}"; then
    log ERROR "$1" "cannot create ${STATE_DIR}/logs or ${RESTIC_CACHE_DIR}"
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
  CYCLE_STARTED=$(now_epoch)
  RUN_ID="$(date -u -d "@${CYCLE_STARTED}" +%Y%m%dT%H%M%SZ)-$$"
  RUN_DIR="${STATE_DIR}/logs/run-${RUN_ID}"
  if [ "$1" != run ]; then
    RUN_DIR="${RUN_DIR}-$1"
  fi
  WORK_DIR=${RUN_DIR}
  RESULTS_FILE="${RUN_DIR}/targets.jsonl"
  if ! mkdir -p "${RUN_DIR}"; then
    log ERROR "$1" "cannot create ${RUN_DIR}"
    return "${EX_FAIL}"
  fi
  for _cb_file in targets retention prune checks replicas drill drill-targets; do
    if ! : >"${WORK_DIR}/${_cb_file}.jsonl"; then
      log ERROR "$1" "cannot create ${WORK_DIR}/${_cb_file}.jsonl"
      return "${EX_FAIL}"
    fi
  done
  return 0
}

# target_result NAME: this cycle's backup result of the target (ok, partial, failed, ...).
target_result() {
  jq -r --arg name "$1" 'select(.name == $name) | .result' "${RESULTS_FILE}" | tail -n 1
}

cmd_run() {
  load_common || return
  load_targets || return
  load_backup || return
  load_policy || return
  cycle_begin run || return
  _run_started=${CYCLE_STARTED}
  status_write_running "${_run_started}" || return "${EX_FAIL}"
  log INFO run "cycle started host=${BACKUP_HOST} targets=${TARGET_COUNT} run=${RUN_ID}"
  quiesce_reset
  _run_skip=''
  if ! quiesce_recover && [ "${QUIESCE_MODE}" != none ]; then
    # Quiescing again would take the stopped container for one stopped by its operator.
    _run_skip="not attempted: container ${QUIESCE_CONTAINER} is still ${QUIESCE_HELD_BEFORE}"
    _run_skip="${_run_skip} since an earlier cycle: ${QUIESCE_RELEASE_ERROR}"
    QUIESCE_RESULT=skipped
    QUIESCE_ERROR=${_run_skip#not attempted: }
  fi

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

  MANIFEST_PENDING=''
  if [ -n "${_run_skip}" ]; then
    :
  elif [ -z "${EXISTING_SOURCES}" ]; then
    _run_skip="no source exists:${MISSING_SOURCES}"
  elif ! quiesce_acquire; then
    if [ "${QUIESCE_ON_ERROR}" = abort ]; then
      _run_skip="not attempted: quiesce failed (BACKUP_QUIESCE_ON_ERROR=abort): ${QUIESCE_ERROR}"
    else
      log WARN quiesce "backing up crash-consistent (BACKUP_QUIESCE_ON_ERROR=continue)"
    fi
  fi
  if [ -n "${_run_skip}" ]; then
    _run_i=1
    while [ "${_run_i}" -le "${TARGET_COUNT}" ]; do
      record_result "$(target_get "${_run_i}" NAME)" failed '' '' '' '' 0 '' "${_run_skip}" '' ||
        return "${EX_FAIL}"
      _run_i=$((_run_i + 1))
    done
  else
    manifest_create
    _run_i=1
    while [ "${_run_i}" -le "${TARGET_COUNT}" ]; do
      backup_target "${_run_i}" || log ERROR run "cannot record the result of target ${_run_i}"
      _run_i=$((_run_i + 1))
    done
  fi
  # The application runs again before retention and verification, which do not need it.
  quiesce_release || true
  manifest_finish

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
  _run_quiesce=$(quiesce_json) || _run_quiesce=null
  status_write_final "${_run_state}" "${_run_started}" "${_run_finished}" "${RESULTS_FILE}" \
    "${_run_quiesce}" || _run_state=failed
  _run_failed=$(jq -r 'select(.result != "ok") | .name' "${RESULTS_FILE}" | tr '\n' ' ')
  case ${_run_state} in
    ok)
      log INFO run "cycle ok in $((_run_finished - _run_started))s"
      _run_rc=${EX_OK}
      ;;
    partial)
      log WARN run "cycle partial; incomplete targets: ${_run_failed}"
      _run_rc=${EX_PARTIAL}
      ;;
    *)
      log ERROR run "cycle failed; targets without a complete snapshot: ${_run_failed}"
      _run_rc=${EX_FAIL}
      ;;
  esac

  # Retention after a complete backup, verification of every repository reached this cycle,
  # then the prune and drill that are due. Each target reached was unlocked before its backup.
  UNLOCKED=1
  _run_reached=''
  _run_i=1
  while [ "${_run_i}" -le "${TARGET_COUNT}" ] && [ -z "${INTERRUPTED}" ]; do
    _run_name=$(target_get "${_run_i}" NAME)
    case $(target_result "${_run_name}") in
      ok)
        retention_target "${_run_i}" "${_run_name}" \
          "$(jq -r --arg name "${_run_name}" 'select(.name == $name) | .snapshot_id // empty' \
            "${RESULTS_FILE}" | tail -n 1)"
        check_target "${_run_i}" "${_run_name}" || true
        _run_reached="${_run_reached} ${_run_i}"
        ;;
      partial)
        check_target "${_run_i}" "${_run_name}" || true
        _run_reached="${_run_reached} ${_run_i}"
        ;;
    esac
    _run_i=$((_run_i + 1))
  done
  due_work "${_run_reached}"
  status_write_maintenance || log ERROR status "cannot record retention and verification"
  logs_prune

  if [ "${QUIESCE_RELEASE}" = failed ]; then
    _run_rc=${EX_FAIL}
  fi
  if [ -n "${VERIFY_FAILED}" ]; then
    log ERROR run "verification found errors: $(jq -r '.verification.errors // [] | join("; ")' \
      "${STATUS_FILE}" 2>/dev/null)"
    _run_rc=${EX_FAIL}
  fi
  if [ "${_run_rc}" -ne "${EX_OK}" ] || [ "${QUIESCE_RESULT}" = failed ]; then
    notify_failure cycle
  fi
  return "${_run_rc}"
}

# cmd_due: what the daemon starts at a prune or drill slot when no backup cycle starts then:
# the prune and drill that are due (and an earlier agent's stop or pause undone first).
cmd_due() {
  load_common || return
  load_targets || return
  load_backup || return
  load_policy || return
  cycle_begin due || return
  quiesce_reset
  if ! quiesce_recover; then
    MAINTENANCE_FAILED=1
    _du_quiesce=$(quiesce_json) || _du_quiesce=null
    # shellcheck disable=SC2016 # a jq program
    status_update '.quiesce = $quiesce' --argjson quiesce "${_du_quiesce}" || true
  fi
  _du_all=''
  _du_i=1
  while [ "${_du_i}" -le "${TARGET_COUNT}" ]; do
    _du_all="${_du_all} ${_du_i}"
    _du_i=$((_du_i + 1))
  done
  due_work "${_du_all}"
  status_write_maintenance || MAINTENANCE_FAILED=1
  logs_prune
  if [ -n "${VERIFY_FAILED}${MAINTENANCE_FAILED}" ]; then
    notify_failure maintenance
    return "${EX_FAIL}"
  fi
  return "${EX_OK}"
}

#######################################
# daemon
#######################################

# daemon_cycle COMMAND: runs `run` (or `due`) as a child process (own PID for the lock, own
# exit code) and waits for it; a SIGTERM to the daemon is passed on to it.
daemon_cycle() {
  sh "${AGENT_SELF}" "$1" &
  track_child "$!" TERM
  wait_child "${CHILD_PID}"
  _dc_rc=$?
  CHILD_PID=''
  if [ "$1" = run ]; then
    log INFO daemon "cycle finished with exit code ${_dc_rc}"
  else
    log INFO daemon "due work finished with exit code ${_dc_rc}"
  fi
}

# check_cron VARIABLE VALUE: EX_USAGE (with a log line) when VALUE is set and is not a valid
# 5-field cron expression.
check_cron() {
  [ -n "$2" ] || return 0
  cron_matches "$2" "$(clock)"
  if [ "$?" -eq 2 ]; then
    log ERROR config "$1='$2' is not a 5-field cron expression (minute hour day-of-month" \
      "month day-of-week), e.g. '0 2 * * *'"
    return "${EX_USAGE}"
  fi
  return 0
}

# The daemon wakes at every minute boundary. When BACKUP_PRUNE_SCHEDULE matches, a prune is
# due on every target; when BACKUP_VERIFY_DRILL_SCHEDULE matches, the restore drill (and the
# replicas' checks) are due. A backup cycle starting that minute does the due work after its
# backups; otherwise the daemon starts `due` for it. Due work that cannot be done (the cycle
# lock or a repository lock is held, a target is unreachable) stays due, and the next cycle
# does it: a slot missed is made up by the next cycle, never skipped.
cmd_daemon() {
  load_common || return
  load_targets || return
  load_backup || return
  load_policy || return
  _d_schedule=${BACKUP_SCHEDULE:-}
  cron_matches "${_d_schedule}" "$(clock)"
  _d_valid=$?
  if [ "${_d_valid}" -eq 2 ]; then
    log ERROR config "BACKUP_SCHEDULE='${_d_schedule}' is not a 5-field cron expression" \
      "(minute hour day-of-month month day-of-week), e.g. '0 2 * * *'"
    return "${EX_USAGE}"
  fi
  _d_prune=${BACKUP_PRUNE_SCHEDULE:-}
  _d_drill=${BACKUP_VERIFY_DRILL_SCHEDULE:-}
  check_cron BACKUP_PRUNE_SCHEDULE "${_d_prune}" || return
  check_cron BACKUP_VERIFY_DRILL_SCHEDULE "${_d_drill}" || return
  DUE_DIR="${STATE_DIR}/due"
  log INFO daemon "started; schedule='${_d_schedule}' TZ=${TZ:-UTC} host=${BACKUP_HOST}" \
    "prune='${_d_prune}' drill='${_d_drill}' quiesce=${QUIESCE_MODE}"
  if [ -f "${STATE_DIR}/quiesce.held" ]; then
    log WARN daemon "an earlier agent left container state to undo (${STATE_DIR}/quiesce.held)"
    daemon_cycle due
  fi
  case ${BACKUP_RUN_ON_START:-false} in
    true | yes | 1)
      log INFO daemon "BACKUP_RUN_ON_START: running a cycle now"
      daemon_cycle run
      ;;
  esac
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
    track_child "$!" TERM
    wait_child "${CHILD_PID}"
    CHILD_PID=''
    [ -z "${INTERRUPTED}" ] || break
    _d_minute=$(($(clock) / 60 * 60))
    [ "${_d_minute}" != "${_d_last}" ] || continue
    _d_last=${_d_minute}
    _d_due=''
    if [ -n "${_d_prune}" ] && cron_matches "${_d_prune}" "${_d_minute}"; then
      log INFO daemon "prune schedule matches $(iso_utc "${_d_minute}"); prune due on every target"
      # shellcheck disable=SC2046 # target names: letters, digits, '.', '_', '-'
      mark_due $(prune_markers) || log ERROR daemon "cannot mark the prune due in ${DUE_DIR}"
      _d_due=1
    fi
    if [ -n "${_d_drill}" ] && cron_matches "${_d_drill}" "${_d_minute}"; then
      log INFO daemon "drill schedule matches $(iso_utc "${_d_minute}"); restore drill due"
      mark_due drill || log ERROR daemon "cannot mark the drill due in ${DUE_DIR}"
      _d_due=1
    fi
    if cron_matches "${_d_schedule}" "${_d_minute}"; then
      log INFO daemon "schedule matches $(iso_utc "${_d_minute}"); starting a cycle"
      daemon_cycle run
    elif [ -n "${_d_due}" ]; then
      daemon_cycle due
    fi
  done
  log INFO daemon "stopped"
  return "${EX_OK}"
}

# prune_markers: the due-marker names of every target's prune (append-only ones have none).
prune_markers() {
  _pm_i=1
  while [ "${_pm_i}" -le "${TARGET_COUNT}" ]; do
    append_only "${_pm_i}" || printf 'prune.%s\n' "$(target_get "${_pm_i}" NAME)"
    _pm_i=$((_pm_i + 1))
  done
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

# cmd_init: opens every target's repository, initialising the missing ones; run once at
# deploy time by the install container with the targets' init credentials (an S3 agent key
# may not write `config` or `keys/`), never by the daemon.
cmd_init() {
  [ "$#" -eq 0 ] || { usage_error "init takes no arguments"; return; }
  load_common || return
  load_targets || return
  make_tmp_work || return
  RUN_DIR=${TMP_WORK}
  _in_status=${EX_OK}
  _in_i=1
  while [ "${_in_i}" -le "${TARGET_COUNT}" ]; do
    _in_name=$(target_get "${_in_i}" NAME)
    TARGET_ERROR=''
    if ensure_repository "${_in_i}" "${_in_name}"; then
      log INFO init "target=${_in_name} repository ready"
    else
      log ERROR init "target=${_in_name} ${TARGET_ERROR}"
      _in_status=${EX_FAIL}
    fi
    _in_i=$((_in_i + 1))
  done
  return "${_in_status}"
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
    if only_owner_errors "${TMP_WORK}/err"; then
      log WARN restore "target=${_rs_name} contents, modes and links restored to ${_rs_to};" \
        "ownership of ${OWNER_ERRORS} entries not restored: this container lacks CAP_CHOWN." \
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

# cmd_verify [--target NAME] [--no-drill] [-- RESTIC_ARGS]: verification now, under the
# cycle lock: `restic check` of one or every target (the next data subset, or RESTIC_ARGS
# instead, e.g. -- --read-data), the replicas' read-only checks, and the restore drill.
# Recorded in status.json like the scheduled ones.
cmd_verify() {
  _vf_target=''
  _vf_drill=1
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target)
        [ "$#" -ge 2 ] || { usage_error "--target needs a name"; return; }
        _vf_target=$2
        shift 2
        ;;
      --no-drill)
        _vf_drill=''
        shift
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
  load_policy || return
  select_targets "${_vf_target}" || return
  cycle_begin verify || return
  for _vf_i in ${SELECTED_TARGETS}; do
    [ -z "${INTERRUPTED}" ] || break
    unlock_target "${_vf_i}" "$(target_get "${_vf_i}" NAME)"
    check_target "${_vf_i}" "$(target_get "${_vf_i}" NAME)" "$@" || true
  done
  UNLOCKED=1
  if [ -n "${_vf_drill}" ]; then
    verification_drill "${SELECTED_TARGETS}"
    if [ -z "${_vf_target}" ] && [ -z "${INTERRUPTED}" ]; then
      rm -f "${DUE_DIR}/drill" || true
    fi
  else
    for _vf_i in ${SELECTED_TARGETS}; do
      [ -z "${INTERRUPTED}" ] || break
      check_replicas "${_vf_i}" "$(target_get "${_vf_i}" NAME)"
    done
  fi
  status_write_maintenance || VERIFY_INCOMPLETE=1
  logs_prune
  if [ -n "${VERIFY_FAILED}" ]; then
    log ERROR verify "verification found errors: $(jq -r \
      '.verification.errors // [] | join("; ")' "${STATUS_FILE}" 2>/dev/null)"
    notify_failure verification
    return "${EX_FAIL}"
  fi
  if [ -n "${VERIFY_INCOMPLETE}${INTERRUPTED}" ]; then
    log WARN verify "verification incomplete (see the lines above)"
    return "${EX_FAIL}"
  fi
  log INFO verify "every repository verified without errors"
  return "${EX_OK}"
}

# cmd_prune [--target NAME]: `restic prune` of one or every target now, under the cycle lock
# (what the daemon does on BACKUP_PRUNE_SCHEDULE); clears the prune that was due.
cmd_prune() {
  _pr_target=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target)
        [ "$#" -ge 2 ] || { usage_error "--target needs a name"; return; }
        _pr_target=$2
        shift 2
        ;;
      *)
        usage_error "prune: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  load_policy || return
  select_targets "${_pr_target}" || return
  cycle_begin prune || return
  _pr_status=${EX_OK}
  for _pr_i in ${SELECTED_TARGETS}; do
    [ -z "${INTERRUPTED}" ] || break
    unlock_target "${_pr_i}" "$(target_get "${_pr_i}" NAME)"
    prune_target "${_pr_i}" "$(target_get "${_pr_i}" NAME)" || _pr_status=${EX_FAIL}
  done
  status_write_maintenance || _pr_status=${EX_FAIL}
  logs_prune
  [ -z "${INTERRUPTED}" ] || _pr_status=${EX_FAIL}
  return "${_pr_status}"
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
  # Line 1: last success, state, incomplete targets. Line 2: what else makes it red: the
  # application left stopped or paused, or errors found by the last verification.
  if ! _h_fields=$(jq -r '"\(.last_success_epoch // "none") \(.state // "unknown") " +
      ([.targets[]? | select(.result != "ok") | .name] | join(",")),
      ([(.quiesce // {}) | select(.release == "failed")
        | "container \(.container // "?") may still be stopped or paused: \(.release_error)"]
       + [(.verification // {}) | select(.state == "failed")
        | "last verification found errors: \(.errors // [] | join("; "))"]
       | join("; ") | gsub("[\n\r]"; " ") | .[0:600])' "${_h_status}" 2>/dev/null)
  then
    printf 'unhealthy: %s is not readable JSON\n' "${_h_status}"
    return "${EX_FAIL}"
  fi
  _h_problems=''
  {
    read -r _h_epoch _h_state _h_bad
    read -r _h_problems
  } <<EOF
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
  if [ -n "${_h_problems}" ]; then
    printf 'unhealthy: %s; last successful backup %ss ago at %s; %s\n' "${_h_problems}" \
      "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_last}"
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

# cmd_cron_match_batch (hidden, for tests): reads "EXPR<TAB>EPOCH" lines from stdin and
# prints, per line, what cron-match would exit with: 0 match, 1 no match, 2 invalid. One
# process for thousands of checks.
cmd_cron_match_batch() {
  _cb_tab=$(printf '\t')
  while IFS=${_cb_tab} read -r _cb_expr _cb_epoch; do
    cron_matches "${_cb_expr}" "${_cb_epoch}"
    printf '%s\n' "$?"
  done
  return "${EX_OK}"
}

usage() {
  cat <<'EOF'
usage: backup-agent COMMAND [OPTIONS]

  daemon                      run `run` whenever BACKUP_SCHEDULE matches (never returns)
  run                         one backup cycle now, to every target; writes status.json
  snapshots [--target NAME] [-- RESTIC_ARGS]
                              list the snapshots of one target or of every target
  init                        open every target's repository, initialising missing ones
                              (the install container runs it with init credentials)
  restore [--target NAME] [--snapshot ID|latest] [--to DIR] [-- RESTIC_ARGS]
                              restore a snapshot (default: this host's latest, first
                              target, to BACKUP_RESTORE_DIR); paths keep their absolute
                              form under DIR, e.g. DIR/backup/sources/<volume>/...;
                              a warning (exit 0) when only owners could not be set
  verify [--target NAME] [--no-drill] [-- RESTIC_ARGS]
                              verification now: restic check of one target or of every
                              target (the next data subset, or RESTIC_ARGS), the replicas'
                              read-only checks, and the restore drill
  prune [--target NAME]       restic prune of one target or of every target now
  health                      exit 0 while the last successful cycle is fresh and the last
                              verification found no errors (reads status.json only)

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
    init) cmd_init "$@" ;;
    restore) cmd_restore "$@" ;;
    verify) cmd_verify "$@" ;;
    prune) cmd_prune "$@" ;;
    due) cmd_due "$@" ;;
    health) cmd_health "$@" ;;
    cron-match) cmd_cron_match "$@" ;;
    cron-match-batch) cmd_cron_match_batch ;;
    help | -h | --help)
      usage
      exit "${EX_OK}"
      ;;
    *) usage_error "unknown command '${_main_command}'" ;;
  esac
  exit
}

main "$@"
