#######################################
# Schedules
#######################################

# cron_matches SETS EPOCH: 0 when a schedule fires in the minute of EPOCH (in TZ), 1 when not,
# 2 when the clock cannot be read. SETS is a schedule of the plan as plan_load flattens it:
# the allowed minutes, hours, days of month, months and days of week (Sunday 0), each as
# ",v,v,", then the day rule, separated by '/', e.g. ",0,/,2,/,1,...,31,/,1,...,12,/,0,...,6,/both".
# Synth expanded the cron expression (Vixie cron: "both" when the day-of-month or the
# day-of-week field starts with `*`, a day must match both; otherwise either).
cron_matches() {
  _cm_now=$(date -d "@$2" '+%M %H %d %m %w') || return 2
  # shellcheck disable=SC2086 # five numbers
  set -- "$1" ${_cm_now}
  _cm_sets=$1
  for _cm_value in "${2#0}" "${3#0}" "${4#0}" "${5#0}" "$6"; do
    case ${_cm_sets%%/*} in
      *",${_cm_value},"*) _cm_hit=0 ;;
      *) _cm_hit=1 ;;
    esac
    _cm_sets=${_cm_sets#*/}
    _cm_hits="${_cm_hits:-}${_cm_hit}"
  done
  _cm_r=${_cm_hits}
  _cm_hits=''
  # Minute, hour and month must match; the days as the rule says.
  case ${_cm_r}:${_cm_sets} in
    00000:* | 00100:either | 00001:either) return 0 ;;
    *) return 1 ;;
  esac
}
