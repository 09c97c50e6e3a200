#######################################
# run: one backup cycle; due: the maintenance that is due
#######################################

cmd_run() {
  cycle_begin run || return
  _run_started=${CYCLE_STARTED} _run_skip='' EXISTING_SOURCES='' MISSING_SOURCES=''
  status_write_running "${_run_started}" || return "${EX_FAIL}"
  log INFO run "cycle started host=${HOST} targets=${TARGET_COUNT} run=${RUN_ID}"
  quiesce_reset
  content_reset
  if ! quiesce_recover && [ "${QUIESCE_MODE}" != none ]; then
    # Quiescing again would take the stopped container for one stopped by its operator.
    _run_skip="not attempted: container ${QUIESCED_CONTAINER} is still ${QUIESCE_HELD_BEFORE}"
    _run_skip="${_run_skip} since an earlier cycle: ${QUIESCE_RELEASE_ERROR}"
    quiesce_skipped "${_run_skip#not attempted: }"
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
  _run_drill=''
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
  # A source with no file fails the cycle before anything is backed up or forgotten.
  if [ -z "${_run_skip}" ] && ! sources_check; then
    _run_skip="not attempted: ${CONTENT_ERROR}"
  fi
  content_record
  # The restore drill compares with checksums of the data as backed up: only a cycle with
  # the drill due reads the data for them.
  if [ -z "${_run_skip}" ] && [ -f "${DUE_DIR}/drill" ]; then
    _run_drill=1
    manifest_create
  fi
  for _run_i in ${TARGET_INDEXES}; do
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

  cycle_summary
  _run_state=${RUN_STATE} _run_finished=$(now_epoch) _run_failed=${RUN_FAILED} _run_rc=${EX_FAIL}
  # The outcome goes into status.json now when a prune, check or drill follows (they may take
  # long); in a routine cycle, with retention's records in one write at the end.
  _run_deferred=1
  if [ -n "${_run_drill}" ] || maintenance_due; then
    _run_deferred=''
    status_write_final "${_run_state}" "${_run_started}" "${_run_finished}" "${RESULTS_FILE}" ||
      _run_state=failed
  fi
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
  for _run_i in ${TARGET_INDEXES}; do
    [ -z "${INTERRUPTED}" ] || break
    _run_name=$(target_get "${_run_i}" NAME)
    case ${RUN_REACHED} in
      *" ${_run_name}:"*) job_start "${_run_i}" "${_run_name}" retention ;;
      *) continue ;;
    esac
    _run_reached="${_run_reached} ${_run_i}"
  done
  jobs_join retention.jsonl ids.jsonl
  due_work "${_run_reached}" "${_run_drill}"
  if [ -z "${_run_deferred}" ]; then
    status_write_maintenance || log ERROR status "cannot record retention and verification"
  elif ! status_write_final "${_run_state}" "${_run_started}" "${_run_finished}" \
    "${RESULTS_FILE}" maintenance; then
    _run_rc=${EX_FAIL}
  fi
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

# maintenance_due: whether a prune or check is due on any target.
maintenance_due() {
  for _md_i in ${TARGET_INDEXES}; do
    _md_name=$(target_get "${_md_i}" NAME)
    [ ! -f "${DUE_DIR}/prune.${_md_name}" ] && [ ! -f "${DUE_DIR}/check.${_md_name}" ] ||
      return 0
  done
  return 1
}

# cycle_summary: from each target's outcome file (no file: failed), RUN_STATE (ok, partial,
# failed), RUN_FAILED (the targets without a complete snapshot) and RUN_REACHED
# (" NAME:RESULT:SNAPSHOT" for each target with a snapshot, ok or partial, and a space at the
# end).
cycle_summary() {
  RUN_STATE=ok RUN_FAILED='' RUN_REACHED=' '
  for _cs_i in ${TARGET_INDEXES}; do
    _cs_name=$(target_get "${_cs_i}" NAME) _cs_result=failed _cs_snapshot=''
    [ ! -r "${RUN_DIR}/t${_cs_i}/outcome" ] ||
      read -r _cs_result _cs_snapshot <"${RUN_DIR}/t${_cs_i}/outcome" || _cs_result=failed
    case ${_cs_result} in
      ok) ;;
      partial) [ "${RUN_STATE}" = failed ] || RUN_STATE=partial ;;
      *) RUN_STATE=failed ;;
    esac
    [ "${_cs_result}" = ok ] || RUN_FAILED="${RUN_FAILED}${RUN_FAILED:+ }${_cs_name}"
    case ${_cs_result} in
      ok | partial) RUN_REACHED="${RUN_REACHED}${_cs_name}:${_cs_result}:${_cs_snapshot} " ;;
    esac
  done
}

# cmd_due: the prune and check that are due (and a killed agent's stop or pause undone), for
# a slot of their schedules where no backup cycle starts. A due drill waits for the next one.
# shellcheck disable=SC2016 # a jq program
cmd_due() {
  cycle_begin due || return
  quiesce_reset
  _du_failed=''
  if ! quiesce_recover; then
    _du_failed=1
    status_update "${QUIESCE_SECTION}"'.quiesce = quiesce_section' \
      --arg quiesce "$(quiesce_fields)" || true
  fi
  due_work "${TARGET_INDEXES}"
  status_write_maintenance || _du_failed=1
  logs_prune
  if [ -n "${VERIFY_FAILED}${PRUNE_FAILED}${_du_failed}" ]; then
    notify_failure maintenance
    return "${EX_FAIL}"
  fi
  return "${EX_OK}"
}
