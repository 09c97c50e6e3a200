#######################################
# verify, prune
#######################################

# cmd_verify [--target NAME] [--no-drill] [-- RESTIC_ARGS]: verification now, recorded like
# the scheduled one: check (the next data subset, or RESTIC_ARGS), replicas, restore drill.
cmd_verify() {
  parse_options verify name '--target --no-drill --' "$@" || return
  shift "${OPT_SHIFT}"
  select_targets "${OPT_TARGET}" || return
  cycle_begin verify || return
  for _vf_i in ${SELECTED_TARGETS}; do
    [ -z "${INTERRUPTED}" ] || break
    _vf_name=$(target_get "${_vf_i}" NAME)
    ! verify_target "${_vf_i}" "${_vf_name}" "$@" || due_clear "check.${_vf_name}"
  done
  if [ -n "${OPT_NO_DRILL}" ]; then
    for _vf_i in ${SELECTED_TARGETS}; do
      verify_replicas "${_vf_i}" "$(target_get "${_vf_i}" NAME)"
    done
  else
    verification_drill "${SELECTED_TARGETS}"
    [ -n "${OPT_TARGET}" ] || [ -n "${INTERRUPTED}" ] || rm -f "${DUE_DIR}/drill" || true
  fi
  _vf_incomplete=''
  status_write_maintenance || _vf_incomplete=1
  logs_prune
  if [ -n "${VERIFY_FAILED}" ]; then
    log ERROR verify "verification found errors: $(jq -r \
      '.verification.errors // [] | join("; ")' "${STATUS_FILE}" 2>/dev/null)"
    notify_failure verification
    return "${EX_FAIL}"
  fi
  if [ -n "${VERIFY_INCOMPLETE}${_vf_incomplete}${INTERRUPTED}" ]; then
    log WARN verify "verification incomplete (see the lines above)"
    return "${EX_FAIL}"
  fi
  log INFO verify "every repository verified without errors"
  return "${EX_OK}"
}

# cmd_prune [--target NAME]: `restic prune` of one or every target now.
cmd_prune() {
  parse_options prune name '--target' "$@" || return
  select_targets "${OPT_TARGET}" || return
  cycle_begin prune || return
  _pr_status=${EX_OK}
  for _pr_i in ${SELECTED_TARGETS}; do
    prune_target "${_pr_i}" "$(target_get "${_pr_i}" NAME)" || _pr_status=${EX_FAIL}
  done
  status_write_maintenance || _pr_status=${EX_FAIL}
  logs_prune
  [ -z "${INTERRUPTED}" ] || _pr_status=${EX_FAIL}
  return "${_pr_status}"
}
