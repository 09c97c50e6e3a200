# check_summary RC ERRFILE STARTED: describe_failure, led by restic check's first finding
# ("Pack ID does not match, ...") rather than its closing "Fatal: repository contains errors".
check_summary() {
  _cs_first=$(grep -v -e '^Fatal' -e '^[[:space:]]*$' "$2" 2>/dev/null | head -n 1 |
    tr -d '\r\033' | cut -c 1-300)
  _cs_text=$(describe_failure "$1" "$2" "$3")
  if [ -n "${_cs_first}" ]; then
    case ${_cs_text} in
      *"${_cs_first}"*) ;;
      *) _cs_text="${_cs_text}; ${_cs_first}" ;;
    esac
  fi
  printf '%s\n' "${_cs_text}"
}

# check_target INDEX NAME [RESTIC_ARGS...]: `restic check` of the target's repository. With
# BACKUP_VERIFY_READ_DATA_SUBSETS=t > 0 and no RESTIC_ARGS, it also reads the data of subset
# n/t; n is kept in STATE_DIR/verify/NAME.next-subset and advances (1..t, then 1 again) only
# after a check that passed, so every subset is read and found clean once per t passing
# cycles. A failed check counts in VERIFY_FAILED.
check_target() {
  _ck_i=$1
  _ck_name=$2
  shift 2
  _ck_prefix="${RUN_DIR}/${_ck_i}-${_ck_name}"
  _ck_subset=''
  _ck_n=0
  if [ "$#" -eq 0 ] && [ "${VERIFY_SUBSETS}" -gt 0 ]; then
    _ck_file="${STATE_DIR}/verify/${_ck_name}.next-subset"
    _ck_n=1
    if [ -r "${_ck_file}" ]; then
      read -r _ck_n <"${_ck_file}" || _ck_n=1
    fi
    is_uint "${_ck_n}" || _ck_n=1
    strip_zeros "${_ck_n}"
    _ck_n=${STRIPPED}
    if [ "${_ck_n}" -lt 1 ] || [ "${_ck_n}" -gt "${VERIFY_SUBSETS}" ]; then
      _ck_n=1
    fi
    _ck_subset="${_ck_n}/${VERIFY_SUBSETS}"
    set -- --read-data-subset "${_ck_subset}"
  fi
  log INFO check "target=${_ck_name} started${_ck_subset:+ (data subset ${_ck_subset})}"
  _ck_started=$(clock)
  run_restic "${_ck_i}" "${_ck_prefix}-check.out" "${_ck_prefix}-check.err" check "$@"
  _ck_rc=$?
  _ck_seconds=$(($(clock) - _ck_started))
  _ck_extra=$(jq -cn --arg subset "${_ck_subset}" --argjson seconds "${_ck_seconds}" \
    --arg args "$*" '{read_data_subset: (if $subset == "" then null else $subset end),
      check_arguments: (if $args == "" then null else $args end),
      duration_seconds: $seconds}')
  if [ "${_ck_rc}" -eq 0 ]; then
    if [ -n "${_ck_subset}" ]; then
      if ! mkdir -p "${STATE_DIR}/verify" ||
        ! printf '%s\n' $((_ck_n % VERIFY_SUBSETS + 1)) >"${_ck_file}"; then
        log WARN check "cannot record the next data subset in ${_ck_file}"
      fi
    fi
    log INFO check "target=${_ck_name} no errors found in ${_ck_seconds}s"
    record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" ok '' "${_ck_extra}"
    return 0
  fi
  step_failure "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}"
  if [ "${STEP_RESULT}" = deferred ]; then
    log WARN check "target=${_ck_name} ${STEP_ERROR}"
    VERIFY_INCOMPLETE=1
  else
    STEP_ERROR=$(check_summary "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}")
    log ERROR check "target=${_ck_name} check failed: ${STEP_ERROR}" \
      "(restic output in ${_ck_prefix}-check.*)"
    VERIFY_FAILED=1
  fi
  record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" "${STEP_RESULT}" "${STEP_ERROR}" \
    "${_ck_extra}"
  return 1
}

# check_replicas INDEX NAME: `restic --no-lock check` of each replica of the target
# (BACKUP_TARGET_<i>_REPLICA_<j>_*): read-only, so it works on an Object Lock bucket and with
# read-only credentials, and never blocks the replication writing to it.
check_replicas() {
  _cr_count=$(target_get "$1" REPLICA_COUNT)
  [ -n "${_cr_count}" ] || return 0
  if ! is_uint "${_cr_count}"; then
    log ERROR config "BACKUP_TARGET_$1_REPLICA_COUNT='${_cr_count}' is not a number; replicas" \
      "of target $2 not checked"
    VERIFY_FAILED=1
    return 1
  fi
  _cr_j=1
  while [ "${_cr_j}" -le "${_cr_count}" ]; do
    _cr_scope="$1_REPLICA_${_cr_j}"
    _cr_name=$(target_get "${_cr_scope}" NAME)
    [ -n "${_cr_name}" ] || _cr_name="replica-${_cr_j}"
    _cr_extra=$(jq -cn --arg target "$2" '{target: $target}')
    _cr_prefix="${RUN_DIR}/$1-$2-replica-${_cr_j}"
    if [ -z "$(target_get "${_cr_scope}" REPOSITORY)" ]; then
      STEP_ERROR="BACKUP_TARGET_${_cr_scope}_REPOSITORY is empty"
      log ERROR check "target=$2 replica=${_cr_name} ${STEP_ERROR}"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" failed "${STEP_ERROR}" "${_cr_extra}"
      VERIFY_FAILED=1
      _cr_j=$((_cr_j + 1))
      continue
    fi
    log INFO check "target=$2 replica=${_cr_name} started (read-only)"
    _cr_started=$(clock)
    run_restic "${_cr_scope}" "${_cr_prefix}-check.out" "${_cr_prefix}-check.err" --no-lock check
    _cr_rc=$?
    if [ "${_cr_rc}" -eq 0 ]; then
      log INFO check "target=$2 replica=${_cr_name} no errors found in" \
        "$(($(clock) - _cr_started))s"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" ok '' "${_cr_extra}"
    else
      STEP_ERROR=$(check_summary "${_cr_rc}" "${_cr_prefix}-check.err" "${_cr_started}")
      log ERROR check "target=$2 replica=${_cr_name} check failed: ${STEP_ERROR}"
      record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" failed "${STEP_ERROR}" "${_cr_extra}"
      VERIFY_FAILED=1
    fi
    _cr_j=$((_cr_j + 1))
  done
}

# only_owner_errors ERRFILE: true when restic restore's only errors are failed chowns (the
# sidecar has no CAP_CHOWN); sets OWNER_ERRORS to their number.
only_owner_errors() {
  _oe_errors=$(grep -c '^ignoring error for ' "$1")
  OWNER_ERRORS=$(grep -c '^ignoring error for .*chown.*operation not permitted' "$1")
  [ "${_oe_errors}" -gt 0 ] && [ "${_oe_errors}" -eq "${OWNER_ERRORS}" ]
}
