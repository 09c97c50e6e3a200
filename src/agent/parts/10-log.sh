#######################################
# Logging and time
#######################################

# log LEVEL STEP MESSAGE...: one line to stderr, e.g.
# 2026-11-26T02:00:00Z backup-agent INFO step=backup target=local-disk snapshot 4f1c2a9e
log() {
  _log_level=$1
  _log_step=$2
  shift 2
  printf '%s backup-agent %s step=%s %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${_log_level}" "${_log_step}" "$*" >&2
}

# clock: wall-clock epoch seconds, for durations.
clock() {
  date +%s
}

# now_epoch: the current time for timestamps and health. BACKUP_NOW_EPOCH is a test hook.
now_epoch() {
  if [ -n "${BACKUP_NOW_EPOCH:-}" ]; then
    printf '%s\n' "${BACKUP_NOW_EPOCH}"
  else
    date +%s
  fi
}

# iso_utc EPOCH
iso_utc() {
  date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# is_uint VALUE: true when VALUE is a non-empty string of digits.
is_uint() {
  case $1 in
    '' | *[!0-9]*) return 1 ;;
    *) return 0 ;;
  esac
}

# strip_zeros NUMBER: sets STRIPPED to NUMBER without leading zeros (sh arithmetic reads
# 08 as a bad octal number).
strip_zeros() {
  STRIPPED=$1
  while :; do
    case ${STRIPPED} in
      0[0-9]*) STRIPPED=${STRIPPED#0} ;;
      *) return 0 ;;
    esac
  done
}
