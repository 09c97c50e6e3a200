#######################################
# Verification: restic check of the targets and their replicas
#######################################

# check_summary RC ERRFILE STARTED: describe_failure, led by restic check's first finding
# ("Pack ID does not match, ...") rather than its closing "Fatal: repository contains errors".
check_summary() {
  _cs_first=$(grep -v -e '^Fatal' -e '^[[:space:]]*$' "$2" 2>/dev/null | head -n 1 |
    tr -d '\r\033' | cut -c 1-300)
  _cs_text=$(describe_failure "$1" "$2" "$3")
  case ${_cs_text} in
    *"${_cs_first}"*) ;;
    *) _cs_text="${_cs_text}; ${_cs_first}" ;;
  esac
  printf '%s\n' "${_cs_text}"
}

# check_target INDEX NAME [RESTIC_ARGS...]: `restic check`; without RESTIC_ARGS it also reads
# data subset n/t (verification.readDataSubsets t > 0), n advancing only after a check that
# passed, so every subset is found clean once per t passing cycles. Returns 0 when it found no
# errors, 1 when it found some (or failed), 2 when the repository was locked (deferred).
# shellcheck disable=SC2016 # a jq program
check_target() {
  _ck_i=$1 _ck_name=$2 _ck_prefix="${RUN_DIR}/$1-$2" _ck_subset=''
  shift 2
  if [ "$#" -eq 0 ] && [ "${VERIFY_SUBSETS}" -gt 0 ]; then
    _ck_file="${STATE_DIR}/verify/${_ck_name}.next-subset" _ck_n=1
    [ ! -r "${_ck_file}" ] || read -r _ck_n <"${_ck_file}" || _ck_n=1
    is_uint "${_ck_n}" || _ck_n=1
    strip_zeros "${_ck_n}"
    _ck_n=${STRIPPED}
    [ "${_ck_n}" -ge 1 ] && [ "${_ck_n}" -le "${VERIFY_SUBSETS}" ] || _ck_n=1
    _ck_subset="${_ck_n}/${VERIFY_SUBSETS}"
    set -- --read-data-subset "${_ck_subset}"
  fi
  log INFO check "target=${_ck_name} started${_ck_subset:+ (data subset ${_ck_subset})}"
  _ck_started=$(clock)
  run_restic_unlocking "${_ck_i}" "${_ck_prefix}-check.out" "${_ck_prefix}-check.err" check "$@"
  _ck_rc=$? _ck_seconds=$(($(clock) - _ck_started))
  set -- '{read_data_subset: ($subset | str), check_arguments: ($args | str),
      duration_seconds: $seconds}' --arg subset "${_ck_subset}" --arg args "$*" \
    --argjson seconds "${_ck_seconds}"
  if [ "${_ck_rc}" -eq 0 ]; then
    if [ -n "${_ck_subset}" ] && { ! mkdir -p "${STATE_DIR}/verify" ||
      ! printf '%s\n' $((_ck_n % VERIFY_SUBSETS + 1)) >"${_ck_file}"; }; then
      log WARN check "cannot record the next data subset in ${_ck_file}"
    fi
    log INFO check "target=${_ck_name} no errors found in ${_ck_seconds}s"
    record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" ok '' "$@"
    return 0
  fi
  step_failure check "${_ck_name}" "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}"
  _ck_result=${STEP_RESULT} _ck_error=${STEP_ERROR}
  if [ "${_ck_result}" = failed ]; then
    _ck_error=$(check_summary "${_ck_rc}" "${_ck_prefix}-check.err" "${_ck_started}")
    log ERROR check "target=${_ck_name} check failed: ${_ck_error}" \
      "(restic output in ${_ck_prefix}-check.*)"
  fi
  record_step "${WORK_DIR}/checks.jsonl" "${_ck_name}" "${_ck_result}" "${_ck_error}" "$@"
  [ "${_ck_result}" = failed ] || return 2
  return 1
}

# check_replicas INDEX NAME: `restic --no-lock check` of each replica: read-only, so it works
# with Object Lock and read-only credentials, and never blocks the replication. Returns 1 when
# the check of a replica failed.
# shellcheck disable=SC2016 # a jq program
check_replicas() {
  [ -z "${INTERRUPTED}" ] || return 0
  _cr_count=$(target_get "$1" REPLICA_COUNT) _cr_failed=''
  for _cr_j in $(seq 1 "${_cr_count:-0}"); do
    _cr_scope="$1_REPLICA_${_cr_j}" _cr_prefix="${RUN_DIR}/$1-$2-replica-${_cr_j}"
    _cr_name=$(target_get "${_cr_scope}" NAME)
    [ -n "${_cr_name}" ] || _cr_name="replica-${_cr_j}"
    log INFO check "target=$2 replica=${_cr_name} started (read-only)"
    _cr_started=$(clock)
    run_restic "${_cr_scope}" "${_cr_prefix}-check.out" "${_cr_prefix}-check.err" --no-lock check
    _cr_rc=$? _cr_result=ok _cr_error=''
    if [ "${_cr_rc}" -eq 0 ]; then
      log INFO check "target=$2 replica=${_cr_name} no errors found in" \
        "$(($(clock) - _cr_started))s"
    else
      _cr_result=failed _cr_failed=1
      _cr_error=$(check_summary "${_cr_rc}" "${_cr_prefix}-check.err" "${_cr_started}")
      log ERROR check "target=$2 replica=${_cr_name} check failed: ${_cr_error}"
    fi
    record_step "${WORK_DIR}/replicas.jsonl" "${_cr_name}" "${_cr_result}" "${_cr_error}" \
      '{target: $target}' --arg target "$2"
  done
  [ -z "${_cr_failed}" ]
}

# only_owner_errors ERRFILE: true when restic restore's only errors are failed chowns (the
# sidecar has no CAP_CHOWN); sets OWNER_ERRORS to their number.
only_owner_errors() {
  _oe_errors=$(grep -c '^ignoring error for ' "$1")
  OWNER_ERRORS=$(grep -c '^ignoring error for .*chown.*operation not permitted' "$1")
  [ "${_oe_errors}" -gt 0 ] && [ "${_oe_errors}" -eq "${OWNER_ERRORS}" ]
}
