#######################################
# The backup of one target, and the cycle's setup
#######################################

# ensure_repository INDEX NAME: opens the target's repository, initialising it when it does
# not exist yet. Sets TARGET_ERROR on failure.
ensure_repository() {
  _er_prefix="${RUN_DIR}/$1-$2" _er_started=$(clock)
  log INFO open "target=$2 opening the repository"
  # --no-lock: only reading the config must not fail on a repository that cannot be locked.
  run_restic "$1" "${_er_prefix}-open.out" "${_er_prefix}-open.err" --no-lock cat config
  _er_rc=$?
  [ "${_er_rc}" -ne 0 ] || return 0
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
}

# unlock_target INDEX NAME: `restic unlock` (stale locks only, e.g. of an interrupted check)
# before a target's first restic call that locks: restic 0.14 refuses an exclusive lock
# while any lock exists. A failure is a warning.
unlock_target() {
  run_restic "$1" "${RUN_DIR}/$1-$2-unlock.out" "${RUN_DIR}/$1-$2-unlock.err" unlock ||
    log WARN unlock "target=$2 restic unlock failed: $(error_summary "${RUN_DIR}/$1-$2-unlock.err")"
}

# backup_target INDEX NAME: the backup of one target; never exits, records the result.
backup_target() {
  _bt_prefix="${RUN_DIR}/$1-$2" _bt_started=$(clock) _bt_result=failed _bt_duration=0
  _bt_snapshot='' _bt_bytes='' _bt_new='' _bt_changed='' _bt_rc='' _bt_manifest='' TARGET_ERROR=''
  if [ -n "${INTERRUPTED}" ]; then
    _bt_result=skipped TARGET_ERROR="not attempted: the cycle was interrupted by SIG${INTERRUPTED}"
  elif ! ensure_repository "$1" "$2"; then
    log ERROR backup "target=$2 ${TARGET_ERROR}"
    _bt_duration=$(($(clock) - _bt_started))
  else
    unlock_target "$1" "$2"
    backup_run "$1" "$2"
  fi
  record_result "$2" "${_bt_result}" "${_bt_snapshot}" "${_bt_bytes}" "${_bt_new}" \
    "${_bt_changed}" "${_bt_duration}" "${_bt_rc}" "${TARGET_ERROR}" "${_bt_manifest}" ||
    log ERROR run "cannot record the result of target $1"
}

# backup_run INDEX NAME: backup_target's `restic backup`, its outcome in the _bt_ variables.
backup_run() {
  _bt_i=$1 _bt_name=$2
  set -- backup --json --host "${HOST}"
  set -f
  for _bt_tag in ${TAGS:-}; do
    set -- "$@" --tag "${_bt_tag}"
  done
  # shellcheck disable=SC2086 # the sources, split on purpose
  set -- "$@" -- ${EXISTING_SOURCES}
  set +f
  log INFO backup "target=${_bt_name} started"
  _bt_started_backup=$(clock)
  run_restic "${_bt_i}" "${_bt_prefix}-backup.json" "${_bt_prefix}-backup.err" "$@"
  _bt_rc=$? _bt_duration=$(($(clock) - _bt_started)) _bt_summary=''
  set -- "${_bt_i}" "${_bt_name}"
  if [ -s "${_bt_prefix}-backup.json" ]; then
    _bt_summary=$(jq -nrR '[inputs | fromjson? | objects | select(.message_type == "summary")]
      | last // empty
      | "\(.snapshot_id // "") \(.data_added // "") \(.files_new // "") \(.files_changed // "")"' \
      "${_bt_prefix}-backup.json") || _bt_summary=''
  fi
  read -r _bt_snapshot _bt_bytes _bt_new _bt_changed <<EOF
${_bt_summary}
EOF
  case ${_bt_rc} in
    0 | 3)
      if [ -z "${_bt_snapshot}" ]; then
        TARGET_ERROR="restic exit ${_bt_rc} but no snapshot id in its --json summary"
      elif [ "${_bt_rc}" -eq 3 ]; then
        _bt_result=partial
        TARGET_ERROR="some files could not be read: $(error_summary "${_bt_prefix}-backup.err")"
      elif [ -n "${MISSING_SOURCES}" ]; then
        _bt_result=partial TARGET_ERROR="sources missing, not backed up:${MISSING_SOURCES}"
      else
        _bt_result=ok
      fi
      ;;
    *)
      # Any other code, known or not, is a failure.
      _bt_snapshot=''
      TARGET_ERROR=$(describe_failure "${_bt_rc}" "${_bt_prefix}-backup.err" \
        "${_bt_started_backup}")
      ;;
  esac
  if [ -n "${_bt_snapshot}" ] && [ "${#_bt_snapshot}" -lt 64 ]; then
    # restic < 0.15 reports the short id; status.json carries the full one.
    if run_restic "$1" "${_bt_prefix}-snapshot.json" "${_bt_prefix}-snapshot.err" \
      snapshots --json "${_bt_snapshot}" &&
      _bt_full=$(jq -r '.[0].id // empty' "${_bt_prefix}-snapshot.json") &&
      [ "${#_bt_full}" -eq 64 ]; then
      _bt_snapshot=${_bt_full}
    else
      log WARN backup "target=$2 cannot resolve the full id of snapshot" \
        "${_bt_snapshot}: $(error_summary "${_bt_prefix}-snapshot.err")"
    fi
  fi
  [ -z "${_bt_snapshot}" ] || _bt_manifest=$(manifest_attach "${_bt_snapshot}") || _bt_manifest=''
  case ${_bt_result} in
    ok)
      log INFO backup "target=$2 snapshot $(printf '%s' "${_bt_snapshot}" | cut -c 1-8)" \
        "added ${_bt_bytes} bytes (${_bt_new} new, ${_bt_changed} changed files) in" \
        "${_bt_duration}s"
      ;;
    partial) log WARN backup "target=$2 snapshot ${_bt_snapshot} is partial: ${TARGET_ERROR}" ;;
    *)
      log ERROR backup "target=$2 failed: ${TARGET_ERROR} (restic output in" \
        "${_bt_prefix}-backup.*)"
      ;;
  esac
}

# cycle_begin KIND: takes the cycle lock; creates the cycle's log folder RUN_DIR
# (logs/run-<UTC time>-<pid>[-KIND]) and its record files. EX_BUSY when the lock is held.
cycle_begin() {
  STATUS_FILE="${STATE_DIR}/status.json" QUIESCE_MARKER="${STATE_DIR}/quiesce.held"
  DUE_DIR="${STATE_DIR}/due" VERIFY_FAILED='' VERIFY_INCOMPLETE='' MAINTENANCE_FAILED='' UNLOCKED=''
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
  [ "$1" = run ] || RUN_DIR="${RUN_DIR}-$1"
  WORK_DIR=${RUN_DIR} RESULTS_FILE="${RUN_DIR}/targets.jsonl"
  mkdir -p "${RUN_DIR}" || { log ERROR "$1" "cannot create ${RUN_DIR}"; return "${EX_FAIL}"; }
  for _cb_file in targets retention prune checks replicas drill drill-targets; do
    if ! : >"${WORK_DIR}/${_cb_file}.jsonl"; then
      log ERROR "$1" "cannot create ${WORK_DIR}/${_cb_file}.jsonl"
      return "${EX_FAIL}"
    fi
  done
}
