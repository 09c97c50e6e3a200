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
# (what the daemon does on PRUNE_SCHEDULE); clears the prune that was due.
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
