#######################################
# Restore drill, due work, and the outcome of the verification
#######################################

# What this process's verification and due work found, for its command (run, due, verify):
# errors (a check, a replica's check or a drill failed), a check deferred (its repository was
# locked), a prune that failed. Assigned here only; the steps return their outcome.
VERIFY_FAILED='' VERIFY_INCOMPLETE='' PRUNE_FAILED=''

# verify_target INDEX NAME [RESTIC_ARGS...]: check_target, its outcome counted; true when the
# check found no errors.
verify_target() {
  check_target "$@"
  case $? in
    0) return 0 ;;
    2) VERIFY_INCOMPLETE=1 ;;
    *) VERIFY_FAILED=1 ;;
  esac
  return 1
}

# verify_replicas INDEX NAME: check_replicas, its outcome counted.
verify_replicas() {
  check_replicas "$1" "$2" || VERIFY_FAILED=1
}

# drill_clean DIR: removes a drill's restore. Without CAP_DAC_OVERRIDE even root cannot
# delete from a folder it may not write, so folders are opened first (find -type d never
# follows a restored symlink out of DIR).
drill_clean() {
  [ -e "$1" ] || return 0
  find "$1" -type d -exec chmod u+rwx {} + 2>/dev/null || true
  rm -rf "$1" || log WARN drill "cannot remove $1"
}

# drill_target INDEX NAME: restores this host's newest snapshot that has a manifest (the one
# the cycle just made, when the drill runs after a backup) to DRILL_DIR/NAME, compares every
# file with the manifest recorded when it was made, then removes the restore. Returns 1 when
# the drill failed (not when it could not compare: no manifest).
# shellcheck disable=SC2016 # a jq program
drill_target() {
  [ -z "${INTERRUPTED}" ] || return 0
  _dr_prefix="${RUN_DIR}/$1-$2-drill" _dr_dir="${DRILL_DIR}/$2" _dr_started=$(clock)
  _dr_id='' _dr_compared='' _dr_mismatches='' _dr_missing='' _dr_files='[]' _dr_result=failed
  _dr_changed=''
  log INFO drill "target=$2 started"
  run_restic_unlocking "$1" "${_dr_prefix}-snapshots.json" "${_dr_prefix}-snapshots.err" \
    snapshots --json --host "${HOST}"
  _dr_rc=$?
  if [ "${_dr_rc}" -ne 0 ]; then
    _dr_error="cannot list the snapshots: $(describe_failure "${_dr_rc}" \
      "${_dr_prefix}-snapshots.err" "${_dr_started}")"
  elif ! _dr_id=$(jq -r --arg manifests "$(manifest_names)" '
      sort_by(.time) | reverse
      | (map(select(.id[0:8] as $s | $manifests | contains(" \($s).sha256 "))) | first) // first
      | .id // empty' "${_dr_prefix}-snapshots.json") || [ -z "${_dr_id}" ]; then
    _dr_error="no snapshot of host ${HOST} to restore"
  else
    drill_restore "$1"
  fi
  drill_clean "${_dr_dir}"
  case ${_dr_result} in
    ok)
      log INFO drill "target=$2 snapshot $(printf '%s' "${_dr_id}" | cut -c 1-8): all" \
        "${_dr_compared} files match the manifest ($(($(clock) - _dr_started))s;" \
        "${_dr_changed:-0} changed while the backup ran, not compared)"
      ;;
    unverified) log WARN drill "target=$2 ${_dr_error}" ;;
    *) log ERROR drill "target=$2 failed: ${_dr_error}" ;;
  esac
  record_step "${WORK_DIR}/drill-targets.jsonl" "$2" "${_dr_result}" "${_dr_error}" \
    '{snapshot_id: ($id | str), files_compared: ($compared | num),
      mismatches: ($mismatches | num), missing: ($missing | num), mismatched_files: $files,
      changed_during_backup: ($changed | num), duration_seconds: $seconds}' \
    --arg id "${_dr_id}" --arg compared "${_dr_compared}" --arg mismatches "${_dr_mismatches}" \
    --arg changed "${_dr_changed}" \
    --arg missing "${_dr_missing}" --argjson files "${_dr_files}" \
    --argjson seconds $(($(clock) - _dr_started))
  [ "${_dr_result}" != failed ]
}

# manifest_names: the names of the manifests kept, each between spaces.
manifest_names() {
  printf ' '
  for _mn_file in "${STATE_DIR}"/manifests/*.sha256; do
    [ ! -f "${_mn_file}" ] || printf '%s ' "${_mn_file##*/}"
  done
}

# drill_restore INDEX: drill_target's restore and comparison; sets _dr_result (unverified
# without a manifest), _dr_error and the counts.
drill_restore() {
  _dr_short=$(printf '%s' "${_dr_id}" | cut -c 1-8)
  _dr_manifest="${STATE_DIR}/manifests/${_dr_short}.sha256"
  drill_clean "${_dr_dir}"
  mkdir -p "${_dr_dir}" || { _dr_error="cannot create ${_dr_dir}" && return; }
  _dr_started_restore=$(clock)
  run_restic_unlocking "$1" "${_dr_prefix}-restore.out" "${_dr_prefix}-restore.err" \
    restore "${_dr_id}" --target "${_dr_dir}"
  _dr_rc=$?
  if [ "${_dr_rc}" -eq 1 ] && only_owner_errors "${_dr_prefix}-restore.err"; then
    _dr_rc=0
  fi
  if [ "${_dr_rc}" -ne 0 ]; then
    _dr_error="restore of snapshot ${_dr_short} failed: $(describe_failure "${_dr_rc}" \
      "${_dr_prefix}-restore.err" "${_dr_started_restore}")"
    return
  fi
  if [ ! -f "${_dr_manifest}" ]; then
    _dr_result=unverified
    _dr_error="snapshot ${_dr_short} restored, but there is no manifest to compare it with"
    _dr_error="${_dr_error} (${_dr_manifest}: MANIFEST off, or kept no longer)"
    return
  fi
  (cd "${_dr_dir}" && sha256sum -c "${_dr_manifest}") >"${_dr_prefix}-compare.out" \
    2>"${_dr_prefix}-compare.err"
  _dr_compared=$(grep -c . "${_dr_manifest}")
  _dr_changed=0
  [ ! -f "${_dr_manifest%.sha256}.changed" ] ||
    _dr_changed=$(grep -c . "${_dr_manifest%.sha256}.changed")
  _dr_failed=$(grep -c ': FAILED' "${_dr_prefix}-compare.out")
  _dr_missing=$(grep -c 'No such file' "${_dr_prefix}-compare.err")
  [ "${_dr_missing}" -le "${_dr_failed}" ] || _dr_missing=${_dr_failed}
  _dr_mismatches=$((_dr_failed - _dr_missing))
  [ "${_dr_failed}" -ne 0 ] || { _dr_result=ok _dr_error='' && return; }
  _dr_files=$(grep ': FAILED' "${_dr_prefix}-compare.out" | head -n 10 |
    sed 's/: FAILED.*$//' | jq -ncR '[inputs]' 2>/dev/null) || _dr_files='[]'
  [ -n "${_dr_files}" ] || _dr_files='[]'
  _dr_error="snapshot ${_dr_short}: ${_dr_failed} of ${_dr_compared} files do not match the"
  _dr_error="${_dr_error} manifest (${_dr_mismatches} differ, ${_dr_missing} missing; details in"
  _dr_error="${_dr_error} ${_dr_prefix}-compare.out)"
}

# drill_summary: the targets' drills as one record.
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
       changed_during_backup: (map(.changed_during_backup // 0) | add),
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
  for _ma_name in "$@"; do
    : >"${DUE_DIR}/${_ma_name}" || return 1
  done
}

# due_clear NAME: removes the due marker NAME (WORK or WORK.TARGET) once the work is done; only
# success clears it (a check that found errors stays due, so the next cycle checks again).
due_clear() {
  rm -f "${DUE_DIR}/$1" || log WARN "${1%%.*}" "cannot remove ${DUE_DIR}/$1"
}

# due_work INDEXES [DRILL]: the prune and check due for these targets, and, with DRILL set (a
# backup cycle that recorded the manifest, or `verify`), the restore drill when it is due: a
# drill compares with checksums taken at backup time, so without a backup it waits for one.
due_work() {
  for _dw_i in $1; do
    _dw_name=$(target_get "${_dw_i}" NAME)
    if [ -f "${DUE_DIR}/prune.${_dw_name}" ]; then
      prune_target "${_dw_i}" "${_dw_name}"
      [ "$?" -ne 1 ] || PRUNE_FAILED=1
    fi
    if [ -f "${DUE_DIR}/check.${_dw_name}" ] && [ -z "${INTERRUPTED}" ] &&
      verify_target "${_dw_i}" "${_dw_name}"; then
      due_clear "check.${_dw_name}"
    fi
  done
  [ -z "${INTERRUPTED}" ] && [ -f "${DUE_DIR}/drill" ] || return 0
  if [ -z "${2:-}" ]; then
    log INFO drill "due; it runs after the next backup, against the checksums taken then"
    return 0
  fi
  verification_drill "$1"
  [ -n "${INTERRUPTED}" ] || due_clear drill
}

# verification_drill INDEXES: the replicas' checks and the restore drill of those targets.
verification_drill() {
  for _vd_i in $1; do
    verify_replicas "${_vd_i}" "$(target_get "${_vd_i}" NAME)"
  done
  if [ -z "${HOST:-}" ]; then
    log ERROR config "HOST is empty: the restore drill needs it to find this host's" \
      "latest snapshot"
    VERIFY_FAILED=1
    return
  fi
  for _vd_i in $1; do
    drill_target "${_vd_i}" "$(target_get "${_vd_i}" NAME)" || VERIFY_FAILED=1
  done
  drill_summary
}
