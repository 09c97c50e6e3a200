#######################################
# Cron matching
#######################################

# cron_item_matches ITEM VALUE MIN MAX: one list item (`*`, `*/n`, `a`, `a-b`, `a-b/n`,
# `a/n`). Returns 0 match, 1 no match, 2 invalid item.
cron_item_matches() {
  _ci_item=$1
  _ci_value=$2
  _ci_min=$3
  _ci_max=$4
  _ci_step=1
  case ${_ci_item} in
    */*)
      _ci_step=${_ci_item#*/}
      _ci_item=${_ci_item%%/*}
      is_uint "${_ci_step}" || return 2
      strip_zeros "${_ci_step}"
      _ci_step=${STRIPPED}
      [ "${_ci_step}" -ge 1 ] || return 2
      ;;
  esac
  case ${_ci_item} in
    '*')
      _ci_lo=${_ci_min}
      _ci_hi=${_ci_max}
      ;;
    *-*)
      _ci_lo=${_ci_item%%-*}
      _ci_hi=${_ci_item#*-}
      is_uint "${_ci_lo}" || return 2
      is_uint "${_ci_hi}" || return 2
      ;;
    *)
      is_uint "${_ci_item}" || return 2
      _ci_lo=${_ci_item}
      # `a/n` means from a to the end of the range, every n.
      if [ "${_ci_step}" -gt 1 ] || [ "${_ci_item}" != "$1" ]; then
        _ci_hi=${_ci_max}
      else
        _ci_hi=${_ci_item}
      fi
      ;;
  esac
  strip_zeros "${_ci_lo}"
  _ci_lo=${STRIPPED}
  strip_zeros "${_ci_hi}"
  _ci_hi=${STRIPPED}
  if [ "${_ci_lo}" -lt "${_ci_min}" ] || [ "${_ci_hi}" -gt "${_ci_max}" ] ||
    [ "${_ci_lo}" -gt "${_ci_hi}" ]; then
    return 2
  fi
  if [ "${_ci_value}" -ge "${_ci_lo}" ] && [ "${_ci_value}" -le "${_ci_hi}" ] &&
    [ $(((_ci_value - _ci_lo) % _ci_step)) -eq 0 ]; then
    return 0
  fi
  return 1
}

# cron_field_matches FIELD VALUE MIN MAX: a comma-separated list. Every item is checked (no
# early exit) so that an invalid item is always reported. Returns 0, 1 or 2 (invalid).
cron_field_matches() {
  _cf_field=$1
  case ${_cf_field} in
    '' | ,* | *, | *,,* | *[!0-9*/,-]*) return 2 ;;
  esac
  _cf_result=1
  _cf_ifs=${IFS}
  IFS=,
  set -f
  for _cf_item in ${_cf_field}; do
    cron_item_matches "${_cf_item}" "$2" "$3" "$4"
    case $? in
      0) [ "${_cf_result}" -eq 2 ] || _cf_result=0 ;;
      1) ;;
      *) _cf_result=2 ;;
    esac
  done
  set +f
  IFS=${_cf_ifs}
  return "${_cf_result}"
}

# cron_matches "EXPR" EPOCH: 5 fields (minute hour day-of-month month day-of-week), the
# time taken in TZ. Day of week 0-7 (0 and 7 are Sunday). As in Vixie cron, when both
# day-of-month and day-of-week are restricted (neither starts with `*`) either may match.
# Returns 0 match, 1 no match, 2 invalid expression.
cron_matches() {
  _cm_expr=$1
  _cm_epoch=$2
  is_uint "${_cm_epoch}" || return 2
  set -f
  # shellcheck disable=SC2086 # split the expression into its fields on purpose
  set -- ${_cm_expr}
  set +f
  [ "$#" -eq 5 ] || return 2
  _cm_f_min=$1
  _cm_f_hour=$2
  _cm_f_dom=$3
  _cm_f_mon=$4
  _cm_f_dow=$5
  _cm_now=$(date -d "@${_cm_epoch}" '+%M %H %d %m %w') || return 2
  # shellcheck disable=SC2086 # five numbers
  set -- ${_cm_now}
  strip_zeros "$1"
  _cm_v_min=${STRIPPED}
  strip_zeros "$2"
  _cm_v_hour=${STRIPPED}
  strip_zeros "$3"
  _cm_v_dom=${STRIPPED}
  strip_zeros "$4"
  _cm_v_mon=${STRIPPED}
  _cm_v_dow=$5

  cron_field_matches "${_cm_f_min}" "${_cm_v_min}" 0 59
  _cm_r_min=$?
  cron_field_matches "${_cm_f_hour}" "${_cm_v_hour}" 0 23
  _cm_r_hour=$?
  cron_field_matches "${_cm_f_dom}" "${_cm_v_dom}" 1 31
  _cm_r_dom=$?
  cron_field_matches "${_cm_f_mon}" "${_cm_v_mon}" 1 12
  _cm_r_mon=$?
  cron_field_matches "${_cm_f_dow}" "${_cm_v_dow}" 0 7
  _cm_r_dow=$?
  if [ "${_cm_r_dow}" -eq 1 ] && [ "${_cm_v_dow}" -eq 0 ]; then
    cron_field_matches "${_cm_f_dow}" 7 0 7
    _cm_r_dow=$?
  fi
  for _cm_r in "${_cm_r_min}" "${_cm_r_hour}" "${_cm_r_dom}" "${_cm_r_mon}" "${_cm_r_dow}"; do
    [ "${_cm_r}" -ne 2 ] || return 2
  done
  [ "${_cm_r_min}" -eq 0 ] && [ "${_cm_r_hour}" -eq 0 ] && [ "${_cm_r_mon}" -eq 0 ] ||
    return 1
  case ${_cm_f_dom}:${_cm_f_dow} in
    '*'*:* | *:'*'*)
      [ "${_cm_r_dom}" -eq 0 ] && [ "${_cm_r_dow}" -eq 0 ]
      return
      ;;
    *)
      [ "${_cm_r_dom}" -eq 0 ] || [ "${_cm_r_dow}" -eq 0 ]
      return
      ;;
  esac
}
