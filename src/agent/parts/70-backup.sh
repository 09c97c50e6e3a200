#######################################
# The backup of one target, opening and initialising repositories (init), and the cycle's setup
#######################################

# ensure_repository INDEX NAME: opens the target's repository, initialising it when it does
# not exist yet (`backup-agent init`, which the installer runs). Sets TARGET_ERROR on failure.
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
  init_repository "$1" "$2" "${_er_prefix}-open.err"
}

# init_repository INDEX NAME OPEN_ERRFILE: `restic init` after opening the repository failed
# as OPEN_ERRFILE says; with the target's init credentials when the plan has them (the init
# plan: an identity that may create config and keys/), else its own. restic refuses to init
# over an existing repository, so a wrong guess costs a call, never data. Sets TARGET_ERROR
# on failure.
init_repository() {
  log INFO init "target=$2 no repository opened ($(error_summary "$3")); initialising one"
  _ir_prefix="${RUN_DIR}/$1-$2" _ir_started=$(clock) _ir_scope=$1
  [ "$(target_get "$1" HAS_INIT)" != true ] || _ir_scope="$1_INIT"
  run_restic "${_ir_scope}" "${_ir_prefix}-init.out" "${_ir_prefix}-init.err" init
  _ir_rc=$?
  if [ "${_ir_rc}" -ne 0 ]; then
    TARGET_ERROR="cannot open the repository ($(error_summary "$3"))"
    TARGET_ERROR="${TARGET_ERROR} nor initialise it: $(describe_failure "${_ir_rc}" \
      "${_ir_prefix}-init.err" "${_ir_started}")"
    [ "${_ir_scope}" = "$1" ] || TARGET_ERROR="${TARGET_ERROR}$(init_credentials_advice "$1")"
    return 1
  fi
  log INFO init "target=$2 repository initialised"
}

# init_credentials_advice INDEX: after `restic init` failed with the target's init
# credentials, "; " and what the plan says of them: that they expired (their validUntil has
# passed), or until when they work, and how to renew them. Nothing when the plan says neither.
init_credentials_advice() {
  _ia_until=$(target_get "$1" INIT_VALID_UNTIL) _ia_epoch=$(target_get "$1" INIT_VALID_EPOCH)
  _ia_renewal=$(target_get "$1" INIT_RENEWAL)
  if [ -n "${_ia_epoch}" ] && [ "$(now_epoch)" -ge "${_ia_epoch}" ]; then
    printf '; the init credentials expired at %s (they work for a limited time after they are' \
      "${_ia_until}"
    printf ' made, so that a key left in Terraform state is soon useless): renew them%s' \
      "${_ia_renewal:+: ${_ia_renewal}}"
  elif [ -n "${_ia_until}" ]; then
    printf '; the init credentials work until %s%s' "${_ia_until}" \
      "${_ia_renewal:+ (to renew them: ${_ia_renewal})}"
  elif [ -n "${_ia_renewal}" ]; then
    printf '; to renew the init credentials: %s' "${_ia_renewal}"
  fi
}

# cmd_init: opens every target's repository with the target's own credentials, and
# initialises the missing ones, with the target's init credentials when the plan has them
# (the install container's init plan: an S3 agent key may not write `config`). An existing
# repository never needs the init credentials, which may have expired since the first install.
cmd_init() {
  [ "$#" -eq 0 ] || { usage_error "init takes no arguments"; return; }
  make_tmp_work || return
  RUN_DIR=${TMP_WORK}
  _in_status=${EX_OK}
  for _in_i in ${TARGET_INDEXES}; do
    _in_name=$(target_get "${_in_i}" NAME) TARGET_ERROR=''
    if ensure_repository "${_in_i}" "${_in_name}"; then
      log INFO init "target=${_in_name} repository ready"
    else
      log ERROR init "target=${_in_name} ${TARGET_ERROR}"
      _in_status=${EX_FAIL}
    fi
  done
  return "${_in_status}"
}

# unlock_target SCOPE PREFIX: `restic unlock`, which removes stale locks only (those of a
# killed restic); its output in PREFIX-unlock.*. A failure is a warning.
unlock_target() {
  run_restic "$1" "$2-unlock.out" "$2-unlock.err" unlock ||
    log WARN unlock "target=$(target_get "$1" NAME) restic unlock failed:" \
      "$(error_summary "$2-unlock.err")"
}

# run_restic_unlocking SCOPE OUT ERR ARGS...: run_restic, and when the repository is locked,
# `restic unlock` and once more: restic 0.14 has no --retry-lock, and refuses an exclusive
# lock while any lock exists, a killed agent's included. A live lock stays (step_failure then
# defers the step).
run_restic_unlocking() {
  run_restic "$@"
  _ru_rc=$?
  [ "${_ru_rc}" -ne 0 ] && [ -z "${INTERRUPTED}" ] && is_locked "${_ru_rc}" "$3" ||
    return "${_ru_rc}"
  log INFO unlock "target=$(target_get "$1" NAME) the repository is locked" \
    "($(error_summary "$3")); removing stale locks and trying again"
  unlock_target "$1" "${3%.err}"
  run_restic "$@"
}

# is_locked RC ERRFILE: whether restic failed on a lock (exit 11 from restic 0.17 on).
is_locked() {
  [ "$1" -eq 11 ] || grep -q 'already locked' "$2" 2>/dev/null
}

# backup_target INDEX NAME: the backup of one target; never exits, records the result (and
# "RESULT SNAPSHOT" in WORK_DIR/outcome, for cycle_summary). A routine cycle makes one restic
# call here: the repository is initialised, and stale locks removed, only when the backup
# reports the need.
backup_target() {
  _bt_prefix="${RUN_DIR}/$1-$2" _bt_started=$(clock) _bt_result=failed
  _bt_rc='' TARGET_ERROR=''
  if [ -n "${INTERRUPTED}" ]; then
    _bt_result=skipped TARGET_ERROR="not attempted: the cycle was interrupted by SIG${INTERRUPTED}"
  else
    backup_call "$1"
    if backup_found_no_repository; then
      # Kept apart: the next call writes the same files.
      mv -f "${_bt_prefix}-backup.err" "${_bt_prefix}-open.err" || true
      init_repository "$1" "$2" "${_bt_prefix}-open.err" && backup_call "$1"
    fi
    if [ -z "${TARGET_ERROR}" ] && backup_outcome "$2"; then
      printf '%s %s\n' "${_bt_result}" "${_bt_snapshot}" >"${WORK_DIR}/outcome" ||
        log ERROR run "cannot write ${WORK_DIR}/outcome"
      return 0
    fi
    log ERROR backup "target=$2 ${TARGET_ERROR}"
  fi
  record_result "$2" "${_bt_result}" '' '' '' '' $(($(clock) - _bt_started)) "${_bt_rc}" \
    "${TARGET_ERROR}" '' || log ERROR run "cannot record the result of target $1"
}

# backup_call INDEX: `restic backup` of the existing sources, tagged with the plan's tags and
# this cycle's run:<RUN_ID>, which retention keeps whatever the policy says.
backup_call() {
  _bc_i=$1
  set -- backup --json --host "${HOST}"
  set -f
  for _bt_tag in ${TAGS:-}; do
    set -- "$@" --tag "${_bt_tag}"
  done
  set -- "$@" --tag "run:${RUN_ID}"
  # shellcheck disable=SC2086 # the sources, split on purpose
  set -- "$@" -- ${EXISTING_SOURCES}
  set +f
  log INFO backup "target=$(target_get "${_bc_i}" NAME) started"
  _bt_started_backup=$(clock)
  run_restic_unlocking "${_bc_i}" "${_bt_prefix}-backup.json" "${_bt_prefix}-backup.err" "$@"
  _bt_rc=$?
}

# backup_found_no_repository: whether the backup failed for want of a repository: exit 10
# (restic >= 0.17), or restic 0.14's "Is there a repository at the following location?". Not
# after a timeout or a stop: an endpoint that hangs is no missing repository.
backup_found_no_repository() {
  [ "${_bt_rc}" -ne 0 ] && [ -z "${INTERRUPTED}" ] && ! timed_out "${_bt_started_backup}" &&
    { [ "${_bt_rc}" -eq 10 ] ||
      grep -q 'Is there a repository at the following location' "${_bt_prefix}-backup.err"; }
}

# The jq program of backup_outcome: from restic's --json summary (the last one) and the exit
# code, the target's record (line 1), "RESULT SNAPSHOT BYTES NEW CHANGED" (line 2, for the log)
# and the error (line 3).
# shellcheck disable=SC2016 # a jq program
readonly BACKUP_OUTCOME='
([inputs | fromjson? | objects | select(.message_type == "summary")] | last // {}) as $s
| ($s.snapshot_id // "") as $id
| ($rc | tonumber) as $code
| (if ($code == 0 or $code == 3) and $id == "" then
     {result: "failed", error: "restic exit \($rc) but no snapshot id in its --json summary"}
   elif $code == 0 and $error == "" then {result: "ok", error: null}
   elif $code == 0 or $code == 3 then {result: "partial", error: $error}
   else {result: "failed", error: $error} end) as $o
| (if $o.result == "ok" or $o.result == "partial" then $id else "" end) as $snapshot
| ({name: $name, result: $o.result, snapshot_id: ($snapshot | str),
    bytes_added: $s.data_added, files_new: $s.files_new, files_changed: $s.files_changed,
    duration_seconds: ($duration | tonumber), exit_code: $code, error: $o.error,
    manifest: (if $manifest == "" or $snapshot == "" then null
      else "manifests/\($snapshot[0:8]).sha256" end)} | tojson),
  "\($o.result) \($snapshot | str // "-") \($s.data_added // "?") \($s.files_new // "?")"
  + " \($s.files_changed // "?")",
  ($o.error // "")
'

# backup_outcome NAME: records and logs the outcome of backup_call, in one jq call. restic
# exit 0 is ok (partial when sources were missing), 3 partial (files could not be read), any
# other code, known or not, a failure. The snapshot id is the full one from restic 0.15 on;
# restic 0.14 reports 8 digits, and the retention phase puts the full one into status.json.
backup_outcome() {
  case ${_bt_rc} in
    0) TARGET_ERROR=${MISSING_SOURCES:+sources missing, not backed up:${MISSING_SOURCES}} ;;
    3) TARGET_ERROR="some files could not be read: $(error_summary "${_bt_prefix}-backup.err")" ;;
    *) TARGET_ERROR=$(describe_failure "${_bt_rc}" "${_bt_prefix}-backup.err" "${_bt_started_backup}") ;;
  esac
  _bo_json=${_bt_prefix}-backup.json
  [ -s "${_bo_json}" ] || _bo_json=/dev/null
  if ! _bo_out=$(jq -nrR --arg name "$1" --arg rc "${_bt_rc}" --arg error "${TARGET_ERROR}" \
    --arg duration $(($(clock) - _bt_started)) --arg manifest "${MANIFEST_PENDING}" \
    "${JQ_DEFS} ${BACKUP_OUTCOME}" "${_bo_json}"); then
    TARGET_ERROR="cannot read restic's output in ${_bt_prefix}-backup.json"
    return 1
  fi
  {
    read -r _bo_record
    read -r _bt_result _bt_snapshot _bt_bytes _bt_new _bt_changed
    read -r TARGET_ERROR
  } <<EOF
${_bo_out}
EOF
  printf '%s\n' "${_bo_record}" >>"${RESULTS_FILE}" ||
    log ERROR run "cannot record the result of target $1"
  case ${_bt_result} in
    ok)
      log INFO backup "target=$1 snapshot $(printf '%s' "${_bt_snapshot}" | cut -c 1-8)" \
        "added ${_bt_bytes} bytes (${_bt_new} new, ${_bt_changed} changed files) in" \
        "$(($(clock) - _bt_started))s"
      ;;
    partial) log WARN backup "target=$1 snapshot ${_bt_snapshot} is partial: ${TARGET_ERROR}" ;;
    *)
      log ERROR backup "target=$1 failed: ${TARGET_ERROR} (restic output in" \
        "${_bt_prefix}-backup.*)"
      ;;
  esac
}

# cycle_begin KIND: takes the cycle lock; creates the cycle's log folder RUN_DIR
# (logs/run-<UTC time>-<pid>[-KIND]) and its record files. EX_BUSY when the lock is held.
cycle_begin() {
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
  records_in "${RUN_DIR}"
  mkdir -p "${RUN_DIR}" || { log ERROR "$1" "cannot create ${RUN_DIR}"; return "${EX_FAIL}"; }
  for _cb_file in targets retention ids prune checks replicas drill drill-targets; do
    if ! : >"${WORK_DIR}/${_cb_file}.jsonl"; then
      log ERROR "$1" "cannot create ${WORK_DIR}/${_cb_file}.jsonl"
      return "${EX_FAIL}"
    fi
  done
}
