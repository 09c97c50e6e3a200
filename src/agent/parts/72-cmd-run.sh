cmd_run() {
  load_common || return
  load_targets || return
  load_backup || return
  load_policy || return
  cycle_begin run || return
  _run_started=${CYCLE_STARTED}
  status_write_running "${_run_started}" || return "${EX_FAIL}"
  log INFO run "cycle started host=${HOST} targets=${TARGET_COUNT} run=${RUN_ID}"
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
  for _run_source in ${SOURCES}; do
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
      _run_skip="not attempted: quiesce failed (quiesce.onError=abort): ${QUIESCE_ERROR}"
    else
      log WARN quiesce "backing up crash-consistent (quiesce.onError=continue)"
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
