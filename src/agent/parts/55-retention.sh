#######################################
# Retention and prune
#######################################

# append_only INDEX: true when target INDEX is append-only (targets[i].appendOnly): the server
# refuses deletes, so forget and prune are skipped (restic would get 403).
append_only() {
  [ "$(target_get "$1" APPEND_ONLY)" = true ]
}

APPEND_ONLY_NOTE='the server refuses deletes; pruning this repository is the server administrator'"'"'s job'

# unlock_once INDEX NAME: `restic unlock` of the target unless this cycle did it already.
unlock_once() {
  [ -n "${UNLOCKED}" ] || unlock_target "$1" "$2"
}

# step_failure STEP NAME RC ERRFILE STARTED: sets STEP_RESULT and STEP_ERROR. restic 0.14 has
# no --retry-lock: a repository locked by another process defers the step to the next cycle
# (logged here); anything else is a failure (logged by the caller).
step_failure() {
  STEP_RESULT=failed
  STEP_ERROR=$(describe_failure "$3" "$4" "$5")
  [ "$3" -ne "${EX_TARGET_ENV}" ] && grep -q 'already locked' "$4" 2>/dev/null || return 0
  STEP_RESULT=deferred
  STEP_ERROR="the repository is locked by another process ($(error_summary "$4"));"
  STEP_ERROR="${STEP_ERROR} deferred to the next cycle"
  log WARN "$1" "target=$2 ${STEP_ERROR}"
}

# retention_target INDEX NAME SNAPSHOT: `restic forget` per the plan's retention for this
# host's snapshots, after SNAPSHOT was made. Never removes SNAPSHOT, the last good backup.
retention_target() {
  _ret_i=$1 _ret_name=$2 _ret_keep=$3 _ret_prefix="${RUN_DIR}/$1-$2"
  if [ -z "${RETENTION}" ]; then
    record_step "${WORK_DIR}/retention.jsonl" "$2" skipped \
      'no retention policy (the plan has no retention flags)' '{reason: "no-policy"}'
    return
  fi
  if append_only "$1"; then
    log INFO retention "target=$2 skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${WORK_DIR}/retention.jsonl" "$2" skipped '' \
      '{reason: "append-only", removed: null, kept: null, protected: null}'
    return
  fi
  # What goes is computed first (--dry-run), then exactly those ids are forgotten, minus the
  # snapshot just made: restic keeps the newest by *timestamp*, and after the clock jumped
  # back any keep rule could pick the last good backup. Grouped by host,tags: the paths change
  # when a volume is added, which would leave the old group outside the policy for ever.
  set -- forget --dry-run --json --host "${HOST}" --group-by host,tags
  [ -z "${TAG_FILTER}" ] || set -- "$@" --tag "${TAG_FILTER}"
  set -f
  # shellcheck disable=SC2086 # the --keep-* flags, split on purpose
  set -- "$@" ${RETENTION}
  set +f
  _ret_started=$(clock)
  run_restic "${_ret_i}" "${_ret_prefix}-forget-plan.json" "${_ret_prefix}-forget-plan.err" "$@"
  _ret_rc=$?
  if [ "${_ret_rc}" -ne 0 ]; then
    step_failure retention "${_ret_name}" "${_ret_rc}" "${_ret_prefix}-forget-plan.err" \
      "${_ret_started}"
    retention_record "${STEP_RESULT}" "${STEP_ERROR}"
    return
  fi
  if ! _ret_plan=$(jq -nrR --arg keep "${_ret_keep}" '
      def protected: $keep != "" and startswith($keep);
      [inputs | fromjson? | arrays | .[]] as $groups
      | ([$groups[] | (.remove // [])[] | .id] | unique) as $remove
      | "\([$groups[] | (.keep // [])[]] | length) \([$remove[] | select(protected)] | length) "
        + ([$remove[] | select(protected | not)] | join(" "))' \
    "${_ret_prefix}-forget-plan.json"); then
    retention_record failed "cannot read restic's forget plan in ${_ret_prefix}-forget-plan.json"
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
  _ret_count=$(($# - 1)) _ret_started=$(clock)
  run_restic "${_ret_i}" "${_ret_prefix}-forget.out" "${_ret_prefix}-forget.err" "$@"
  _ret_rc=$?
  if [ "${_ret_rc}" -ne 0 ]; then
    step_failure retention "${_ret_name}" "${_ret_rc}" "${_ret_prefix}-forget.err" \
      "${_ret_started}"
    retention_record "${STEP_RESULT}" "${STEP_ERROR}" '' "${_ret_kept}" "${_ret_protected}"
    return
  fi
  log INFO retention "target=${_ret_name} forgot ${_ret_count} snapshots, kept ${_ret_kept}"
  retention_record ok '' "${_ret_count}" "${_ret_kept}" "${_ret_protected}"
}

# retention_record RESULT ERROR [REMOVED KEPT PROTECTED]: records (and logs a failure of)
# retention_target's outcome.
# shellcheck disable=SC2016 # a jq program
retention_record() {
  [ "$1" != failed ] || log ERROR retention "target=${_ret_name} failed: $2"
  record_step "${WORK_DIR}/retention.jsonl" "${_ret_name}" "$1" "$2" \
    '{removed: ($removed | num), kept: ($kept | num), protected: ($protected | num)}' \
    --arg removed "${3:-}" --arg kept "${4:-}" --arg protected "${5:-}"
}

# prune_target INDEX NAME: `restic prune` (only unreferenced data goes); clears the prune
# that was due when done or skipped.
prune_target() {
  [ -z "${INTERRUPTED}" ] || return 0
  unlock_once "$1" "$2"
  if append_only "$1"; then
    prune_done "$2"
    log INFO prune "target=$2 skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${WORK_DIR}/prune.jsonl" "$2" skipped '' '{reason: "append-only"}'
    return 0
  fi
  _pt_prefix="${RUN_DIR}/$1-$2" _pt_started=$(clock)
  log INFO prune "target=$2 started"
  run_restic "$1" "${_pt_prefix}-prune.out" "${_pt_prefix}-prune.err" prune
  _pt_rc=$?
  if [ "${_pt_rc}" -eq 0 ]; then
    prune_done "$2"
    log INFO prune "target=$2 done in $(($(clock) - _pt_started))s"
    record_step "${WORK_DIR}/prune.jsonl" "$2" ok ''
    return 0
  fi
  step_failure prune "$2" "${_pt_rc}" "${_pt_prefix}-prune.err" "${_pt_started}"
  if [ "${STEP_RESULT}" = failed ]; then
    log ERROR prune "target=$2 failed: ${STEP_ERROR}; it stays due"
    MAINTENANCE_FAILED=1
  fi
  record_step "${WORK_DIR}/prune.jsonl" "$2" "${STEP_RESULT}" "${STEP_ERROR}"
  return 1
}

prune_done() {
  rm -f "${DUE_DIR}/prune.$1" || log WARN prune "cannot remove ${DUE_DIR}/prune.$1"
}
