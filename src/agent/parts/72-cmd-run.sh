#######################################
# run: one backup cycle; due: the maintenance that is due
#######################################

cmd_run() {
  cycle_begin run || return
  _run_started=${CYCLE_STARTED} _run_skip='' EXISTING_SOURCES='' MISSING_SOURCES=''
  status_write_running "${_run_started}" || return "${EX_FAIL}"
  log INFO run "cycle started host=${HOST} targets=${TARGET_COUNT} run=${RUN_ID}"
  quiesce_reset
  if ! quiesce_recover && [ "${QUIESCE_MODE}" != none ]; then
    # Quiescing again would take the stopped container for one stopped by its operator.
    _run_skip="not attempted: container ${QUIESCE_CONTAINER} is still ${QUIESCE_HELD_BEFORE}"
    _run_skip="${_run_skip} since an earlier cycle: ${QUIESCE_RELEASE_ERROR}"
    QUIESCE_RESULT=skipped QUIESCE_ERROR=${_run_skip#not attempted: }
  fi
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
  MANIFEST_PENDING='' _run_drill=''
  if [ -n "${_run_skip}" ]; then
    :
  elif [ -z "${EXISTING_SOURCES}" ]; then
    _run_skip="no source exists:${MISSING_SOURCES}"
  elif quiesce_acquire; then
    :
  elif [ "${QUIESCE_ON_ERROR}" = abort ]; then
    _run_skip="not attempted: quiesce failed (quiesce.onError=abort): ${QUIESCE_ERROR}"
  else
    log WARN quiesce "backing up crash-consistent (quiesce.onError=continue)"
  fi
  # The restore drill compares with checksums of the data as backed up: only a cycle with
  # the drill due reads the data for them.
  if [ -z "${_run_skip}" ] && [ -f "${DUE_DIR}/drill" ]; then
    _run_drill=1
    manifest_create
  fi
  for _run_i in $(all_targets); do
    _run_name=$(target_get "${_run_i}" NAME)
    if [ -z "${_run_skip}" ]; then
      job_start "${_run_i}" "${_run_name}" backup
    elif ! record_result "${_run_name}" failed '' '' '' '' 0 '' "${_run_skip}" ''; then
      return "${EX_FAIL}"
    fi
  done
  jobs_join targets.jsonl
  manifest_seal
  # The application runs again before retention and verification, which do not need it.
  quiesce_release || true
  manifest_finish

  _run_state=$(jq -rs --argjson n "${TARGET_COUNT}" 'map(.result) as $r
      | if length != $n or any($r[]; . == "failed" or . == "skipped") then "failed"
        elif any($r[]; . == "partial") then "partial"
        elif all($r[]; . == "ok") then "ok" else "failed" end' "${RESULTS_FILE}") ||
    _run_state=failed
  _run_finished=$(now_epoch) _run_quiesce=$(quiesce_json) || _run_quiesce=null
  status_write_final "${_run_state}" "${_run_started}" "${_run_finished}" "${RESULTS_FILE}" \
    "${_run_quiesce}" || _run_state=failed
  _run_failed=$(jq -r 'select(.result != "ok") | .name' "${RESULTS_FILE}" | tr '\n' ' ')
  _run_rc=${EX_FAIL}
  case ${_run_state} in
    ok) log INFO run "cycle ok in $((_run_finished - _run_started))s" && _run_rc=${EX_OK} ;;
    partial)
      log WARN run "cycle partial; incomplete targets: ${_run_failed}" && _run_rc=${EX_PARTIAL}
      ;;
    *) log ERROR run "cycle failed; targets without a complete snapshot: ${_run_failed}" ;;
  esac

  # Retention after a complete backup (the targets in parallel), then the prune, check and
  # drill that are due, for the targets this cycle reached.
  _run_reached=''
  for _run_i in $(all_targets); do
    [ -z "${INTERRUPTED}" ] || break
    _run_name=$(target_get "${_run_i}" NAME)
    case $(jq -r --arg name "${_run_name}" 'select(.name == $name) | .result' \
      "${RESULTS_FILE}" | tail -n 1) in
      ok | partial) job_start "${_run_i}" "${_run_name}" retention ;;
      *) continue ;;
    esac
    _run_reached="${_run_reached} ${_run_i}"
  done
  jobs_join retention.jsonl ids.jsonl
  due_work "${_run_reached}" "${_run_drill}"
  status_write_maintenance || log ERROR status "cannot record retention and verification"
  logs_prune

  [ "${QUIESCE_RELEASE}" != failed ] || _run_rc=${EX_FAIL}
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

# cmd_due: the prune and check that are due (and a killed agent's stop or pause undone), for
# a slot of their schedules where no backup cycle starts. A due drill waits for the next one.
# shellcheck disable=SC2016 # a jq program
cmd_due() {
  cycle_begin due || return
  quiesce_reset
  if ! quiesce_recover; then
    MAINTENANCE_FAILED=1
    _du_quiesce=$(quiesce_json) || _du_quiesce=null
    status_update '.quiesce = $quiesce' --argjson quiesce "${_du_quiesce}" || true
  fi
  due_work "$(all_targets)"
  status_write_maintenance || MAINTENANCE_FAILED=1
  logs_prune
  if [ -n "${VERIFY_FAILED}${MAINTENANCE_FAILED}" ]; then
    notify_failure maintenance
    return "${EX_FAIL}"
  fi
  return "${EX_OK}"
}
