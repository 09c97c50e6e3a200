#######################################
# Configuration
#######################################

# TRANSITIONAL (replaced by the plan loader): the settings under their internal names.
HOST=${BACKUP_HOST:-}
SOURCES=${BACKUP_SOURCES:-}
TAGS=${BACKUP_TAGS:-}
SCHEDULE=${BACKUP_SCHEDULE:-}
PRUNE_SCHEDULE=${BACKUP_PRUNE_SCHEDULE:-}
DRILL_SCHEDULE=${BACKUP_VERIFY_DRILL_SCHEDULE:-}
QUIESCE_EXEC_BODY=${BACKUP_QUIESCE_EXEC_BODY:-}
QUIESCE_COMMAND=${BACKUP_QUIESCE_COMMAND:-}
MANIFEST=${BACKUP_MANIFEST:-on}
MANIFEST_KEEP=${BACKUP_MANIFEST_KEEP:-100}
RUN_ON_START=${BACKUP_RUN_ON_START:-false}
RESTORE_DIR=${BACKUP_RESTORE_DIR:-/tmp/restore}
MAX_AGE=${BACKUP_MAX_AGE_SECONDS:-93600}
STATE_DIR=${BACKUP_STATE_DIR:-/backup/agent}


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
