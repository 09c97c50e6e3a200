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
      'no retention policy (the plan has no retention flags)' '{"reason":"no-policy"}'
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
  set -- forget --dry-run --json --host "${HOST}" --group-by host,tags
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
