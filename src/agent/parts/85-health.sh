#######################################
# health
#######################################

# cmd_health: reads status.json only; prints one line saying why; 0 while the last
# successful cycle is younger than the plan's healthMaxAgeSeconds, and nothing else is wrong:
# a container left stopped or paused, errors found by the last verification, or a last check
# of the dump and the sources that failed (a mistake that will not fix itself: red at once,
# not only once the last success grows stale).
cmd_health() {
  _h_status=${STATUS_FILE}
  _h_max=${MAX_AGE}
  if [ ! -f "${_h_status}" ]; then
    printf 'unhealthy: no backup cycle has finished yet (%s does not exist)\n' "${_h_status}"
    return "${EX_FAIL}"
  fi
  # Line 1: last success, state, incomplete targets. Line 2: what else makes it red: the
  # application left stopped or paused, the dump or a source not found as told, or errors
  # found by the last verification.
  if ! _h_fields=$(jq -r '"\(.last_success_epoch // "none") \(.state // "unknown") " +
      ([.targets[]? | select(.result != "ok") | .name] | join(",")),
      ([(.quiesce // {}) | select(.release == "failed")
        | "container \(.container // "?") may still be stopped or paused: \(.release_error)"]
       + [(.content // {}) | select(.result == "failed") | .at as $at | .problems[]?
        | "the cycle at \($at) missed what it was told to back up: \(.error); fix: \(.fix)"]
       + [(.verification // {}) | select(.state == "failed")
        | "last verification found errors: \(.errors // [] | join("; "))"]
       | join("; ") | gsub("[\n\r]"; " ") | .[0:1500])' "${_h_status}" 2>/dev/null)
  then
    printf 'unhealthy: %s is not readable JSON\n' "${_h_status}"
    return "${EX_FAIL}"
  fi
  _h_problems=''
  {
    read -r _h_epoch _h_state _h_bad
    read -r _h_problems
  } <<EOF
${_h_fields}
EOF
  _h_last="last cycle ${_h_state}"
  if [ -n "${_h_bad:-}" ] && [ "${_h_state}" != ok ]; then
    _h_last="${_h_last} (incomplete: ${_h_bad})"
  fi
  if ! is_uint "${_h_epoch}"; then
    printf 'unhealthy: no successful backup cycle yet; %s%s\n' "${_h_last}" \
      "${_h_problems:+; ${_h_problems}}"
    return "${EX_FAIL}"
  fi
  _h_age=$(($(now_epoch) - _h_epoch))
  if [ "${_h_age}" -gt "${_h_max}" ]; then
    printf 'unhealthy: last successful backup %ss ago at %s, older than %ss; %s%s\n' \
      "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_max}" "${_h_last}" \
      "${_h_problems:+; ${_h_problems}}"
    return "${EX_FAIL}"
  fi
  if [ -n "${_h_problems}" ]; then
    printf 'unhealthy: %s; last successful backup %ss ago at %s; %s\n' "${_h_problems}" \
      "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_last}"
    return "${EX_FAIL}"
  fi
  printf 'healthy: last successful backup %ss ago at %s (limit %ss); %s\n' \
    "${_h_age}" "$(iso_utc "${_h_epoch}")" "${_h_max}" "${_h_last}"
  return "${EX_OK}"
}
