#######################################
# Retention and prune
#######################################

# append_only INDEX: true when target INDEX is append-only (targets[i].appendOnly): the server
# refuses deletes, so forget and prune are skipped (restic would get 403).
append_only() {
  [ "$(target_get "$1" APPEND_ONLY)" = true ]
}

APPEND_ONLY_NOTE='the server refuses deletes; pruning this repository is the server administrator'"'"'s job'

# step_failure STEP NAME RC ERRFILE STARTED: sets STEP_RESULT and STEP_ERROR. A repository
# still locked by another process after run_restic_unlocking defers the step to the next
# cycle (logged here); anything else is a failure (logged by the caller).
step_failure() {
  STEP_RESULT=failed
  STEP_ERROR=$(describe_failure "$3" "$4" "$5")
  [ "$3" -ne "${EX_TARGET_ENV}" ] && is_locked "$3" "$4" || return 0
  STEP_RESULT=deferred
  STEP_ERROR="the repository is locked by another process ($(error_summary "$4"));"
  STEP_ERROR="${STEP_ERROR} deferred to the next cycle"
  log WARN "$1" "target=$2 ${STEP_ERROR}"
}

# retention_due NAME: whether retention runs for target NAME in this cycle: after every
# complete backup, or, with a retention schedule, once it has fired (the daemon marks it).
retention_due() {
  [ -z "${RETENTION_SETS}" ] || [ -f "${DUE_DIR}/retention.$1" ]
}

# retention_job INDEX NAME: the retention phase's job for a target this cycle's backup reached
# (status "ok" or "partial"): `restic forget` after a complete backup when retention is due;
# then, when restic reported the snapshot's short id (restic < 0.15) and forget did not give
# the full one, that id: from the name of the snapshot's file in a localPath repository
# (restic names it by the id: `snapshots/<id>`), else with `restic snapshots`. At most 2 restic
# calls in the cycle either way.
retention_job() {
  _rj_backup=${RUN_REACHED#* "$2":}
  _rj_backup=${_rj_backup%% *}
  _rj_snapshot=${_rj_backup#*:} FULL_SNAPSHOT_ID=''
  [ -n "${_rj_snapshot}" ] || return 0
  if [ "${_rj_backup%%:*}" = ok ] && retention_due "$2"; then
    retention_target "$1" "$2" "${_rj_snapshot}"
  fi
  [ "${#_rj_snapshot}" -lt 64 ] && [ -z "${FULL_SNAPSHOT_ID}" ] || return 0
  _rj_prefix="${RUN_DIR}/$1-$2"
  _rj_found=0
  for _rj_file in "$(target_get "$1" REPOSITORY)/snapshots/${_rj_snapshot}"*; do
    [ ! -f "${_rj_file}" ] || { _rj_found=$((_rj_found + 1)) && FULL_SNAPSHOT_ID=${_rj_file##*/}; }
  done
  if [ "${_rj_found}" -eq 1 ] && [ "${#FULL_SNAPSHOT_ID}" -eq 64 ]; then
    record_snapshot_id "$2" "${FULL_SNAPSHOT_ID}"
  elif run_restic "$1" "${_rj_prefix}-snapshot.json" "${_rj_prefix}-snapshot.err" \
    snapshots --json "${_rj_snapshot}" &&
    FULL_SNAPSHOT_ID=$(jq -r '.[0].id // empty' "${_rj_prefix}-snapshot.json") &&
    [ "${#FULL_SNAPSHOT_ID}" -eq 64 ]; then
    record_snapshot_id "$2" "${FULL_SNAPSHOT_ID}"
  else
    log WARN backup "target=$2 cannot resolve the full id of snapshot ${_rj_snapshot}:" \
      "$(error_summary "${_rj_prefix}-snapshot.err")"
  fi
}

# record_snapshot_id NAME ID: the full id of the snapshot target NAME made in this cycle, for
# status.json (restic 0.14 reports 8 digits).
# shellcheck disable=SC2016 # a jq program
record_snapshot_id() {
  append_json "${WORK_DIR}/ids.jsonl" '{name: $name, snapshot_id: $id}' --arg name "$1" \
    --arg id "$2"
}

# retention_target INDEX NAME SNAPSHOT: one `restic forget` of this host's snapshots per the
# plan's retention, after SNAPSHOT was made in this cycle. --keep-tag run:<RUN_ID> keeps
# SNAPSHOT, the last good backup, whatever the policy says (restic keeps the newest by
# *timestamp*: after the clock jumped back, a keep rule could pick an older one). Grouped by
# host: the paths change when a volume is added, and the run tags differ from snapshot to
# snapshot; the plan's tags select this container's snapshots.
# shellcheck disable=SC2016 # a jq program
retention_target() {
  _ret_name=$2 _ret_prefix="${RUN_DIR}/$1-$2"
  if [ -z "${RETENTION}" ]; then
    record_step "${WORK_DIR}/retention.jsonl" "$2" skipped \
      'no retention policy (the plan has no retention flags)' '{reason: "no-policy"}'
    return
  fi
  if append_only "$1"; then
    due_clear "retention.$2"
    log INFO retention "target=$2 skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${WORK_DIR}/retention.jsonl" "$2" skipped '' \
      '{reason: "append-only", removed: null, kept: null, protected: null}'
    return
  fi
  _ret_i=$1 _ret_keep=$3
  set -- forget --json --host "${HOST}" --group-by host --keep-tag "run:${RUN_ID}"
  [ -z "${TAG_FILTER}" ] || set -- "$@" --tag "${TAG_FILTER}"
  set -f
  # shellcheck disable=SC2086 # the --keep-* flags, split on purpose
  set -- "$@" ${RETENTION}
  set +f
  _ret_started=$(clock)
  run_restic_unlocking "${_ret_i}" "${_ret_prefix}-forget.json" "${_ret_prefix}-forget.err" "$@"
  _ret_rc=$?
  if [ "${_ret_rc}" -ne 0 ]; then
    step_failure retention "${_ret_name}" "${_ret_rc}" "${_ret_prefix}-forget.err" \
      "${_ret_started}"
    retention_record "${STEP_RESULT}" "${STEP_ERROR}"
    return
  fi
  # What restic kept and removed ("protected": kept only for the run tag), the retention
  # record, and the full id of the cycle's snapshot: one jq call.
  _ret_now=$(now_epoch)
  if ! _ret_out=$(jq -nrR --arg keep "${_ret_keep}" --arg tag "run:${RUN_ID}" \
    --arg name "${_ret_name}" --arg at "$(iso_utc "${_ret_now}")" --argjson epoch "${_ret_now}" '
      [inputs | fromjson? | arrays | .[]] as $groups
      | ([$groups[] | (.reasons // [])[] | select((.snapshot.tags // []) | index($tag))
          | select((.matches | length) == 1)] | length) as $protected
      | ([$groups[] | (.keep // [])[]] | length) as $kept
      | ([$groups[] | (.remove // [])[]] | length) as $removed
      | ([$groups[] | (.keep // [])[] | .id | select(startswith($keep))] | first // "") as $full
      | "\($kept) \($removed) \($protected) \($full)",
        ({name: $name, result: "ok", at: $at, epoch: $epoch, error: null, removed: $removed,
          kept: $kept, protected: $protected} | tojson),
        (if $full == "" then "" else {name: $name, snapshot_id: $full} | tojson end)' \
    "${_ret_prefix}-forget.json"); then
    retention_record failed "cannot read restic's forget output in ${_ret_prefix}-forget.json"
    return
  fi
  {
    read -r _ret_kept _ret_removed _ret_protected FULL_SNAPSHOT_ID
    read -r _ret_record
    read -r _ret_id
  } <<EOF
${_ret_out}
EOF
  printf '%s\n' "${_ret_record}" >>"${WORK_DIR}/retention.jsonl" || log ERROR status \
    "cannot append to ${WORK_DIR}/retention.jsonl"
  [ -z "${_ret_id}" ] || printf '%s\n' "${_ret_id}" >>"${WORK_DIR}/ids.jsonl" ||
    log ERROR status "cannot append to ${WORK_DIR}/ids.jsonl"
  due_clear "retention.${_ret_name}"
  if [ "${_ret_protected}" -gt 0 ]; then
    log WARN retention "target=${_ret_name} the policy would remove snapshot" \
      "$(printf '%s' "${_ret_keep}" | cut -c 1-8), the one this cycle just made (is a clock" \
      "or a snapshot time off?); keeping it: the last successful backup is never removed"
  fi
  log INFO retention "target=${_ret_name} forgot ${_ret_removed} snapshots, kept ${_ret_kept}"
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
# that was due when done or skipped. Returns 1 when it failed, 2 when the repository was locked
# (deferred; it stays due).
prune_target() {
  [ -z "${INTERRUPTED}" ] || return 0
  if append_only "$1"; then
    due_clear "prune.$2"
    log INFO prune "target=$2 skipped: append-only (${APPEND_ONLY_NOTE})"
    record_step "${WORK_DIR}/prune.jsonl" "$2" skipped '' '{reason: "append-only"}'
    return 0
  fi
  _pt_prefix="${RUN_DIR}/$1-$2" _pt_started=$(clock)
  log INFO prune "target=$2 started"
  run_restic_unlocking "$1" "${_pt_prefix}-prune.out" "${_pt_prefix}-prune.err" prune
  _pt_rc=$?
  if [ "${_pt_rc}" -eq 0 ]; then
    due_clear "prune.$2"
    log INFO prune "target=$2 done in $(($(clock) - _pt_started))s"
    record_step "${WORK_DIR}/prune.jsonl" "$2" ok ''
    return 0
  fi
  step_failure prune "$2" "${_pt_rc}" "${_pt_prefix}-prune.err" "${_pt_started}"
  [ "${STEP_RESULT}" != failed ] || log ERROR prune "target=$2 failed: ${STEP_ERROR}; it stays due"
  record_step "${WORK_DIR}/prune.jsonl" "$2" "${STEP_RESULT}" "${STEP_ERROR}"
  [ "${STEP_RESULT}" = failed ] || return 2
  return 1
}
