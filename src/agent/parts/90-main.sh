#######################################
# cron-match (hidden, for tests and operators)
#######################################

# cmd_cron_match "EXPR" [EPOCH]: exit 0 and prints "match" when EXPR matches the minute of
# EPOCH (default now) in TZ, 1 "no match", 2 invalid expression.
cmd_cron_match() {
  if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    usage_error "cron-match needs \"EXPR\" [EPOCH]"
    return
  fi
  cron_matches "$1" "${2:-$(clock)}"
  case $? in
    0)
      printf 'match\n'
      return "${EX_OK}"
      ;;
    1)
      printf 'no match\n'
      return "${EX_FAIL}"
      ;;
    *)
      printf 'invalid cron expression: %s\n' "$1" >&2
      return "${EX_USAGE}"
      ;;
  esac
}

# cmd_cron_match_batch (hidden, for tests): reads "EXPR<TAB>EPOCH" lines from stdin and
# prints, per line, what cron-match would exit with: 0 match, 1 no match, 2 invalid. One
# process for thousands of checks.
cmd_cron_match_batch() {
  _cb_tab=$(printf '\t')
  while IFS=${_cb_tab} read -r _cb_expr _cb_epoch; do
    cron_matches "${_cb_expr}" "${_cb_epoch}"
    printf '%s\n' "$?"
  done
  return "${EX_OK}"
}

usage() {
  cat <<'EOF'
usage: backup-agent COMMAND [OPTIONS]

  daemon                      run `run` whenever SCHEDULE matches (never returns)
  run                         one backup cycle now, to every target; writes status.json
  snapshots [--target NAME] [-- RESTIC_ARGS]
                              list the snapshots of one target or of every target
  init                        open every target's repository, initialising missing ones
                              (the install container runs it with init credentials)
  restore [--target NAME] [--snapshot ID|latest] [--to DIR] [-- RESTIC_ARGS]
                              restore a snapshot (default: this host's latest, first
                              target, to RESTORE_DIR); paths keep their absolute
                              form under DIR, e.g. DIR/backup/sources/<volume>/...;
                              a warning (exit 0) when only owners could not be set
  verify [--target NAME] [--no-drill] [-- RESTIC_ARGS]
                              verification now: restic check of one target or of every
                              target (the next data subset, or RESTIC_ARGS), the replicas'
                              read-only checks, and the restore drill
  prune [--target NAME]       restic prune of one target or of every target now
  health                      exit 0 while the last successful cycle is fresh and the last
                              verification found no errors (reads status.json only)

Configuration: environment variables, see docs/agent-contract.md.
Exit codes: 0 ok, 1 failure, 2 usage/configuration error, 3 partial, 75 cycle already running.
EOF
}

usage_error() {
  log ERROR usage "$1"
  usage >&2
  return "${EX_USAGE}"
}

main() {
  if [ "$#" -lt 1 ]; then
    usage_error "no command given"
    exit
  fi
  _main_command=$1
  shift
  trap on_exit EXIT
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  trap 'on_signal HUP' HUP
  case ${_main_command} in
    run) cmd_run "$@" ;;
    daemon) cmd_daemon "$@" ;;
    snapshots) cmd_snapshots "$@" ;;
    init) cmd_init "$@" ;;
    restore) cmd_restore "$@" ;;
    verify) cmd_verify "$@" ;;
    prune) cmd_prune "$@" ;;
    due) cmd_due "$@" ;;
    health) cmd_health "$@" ;;
    cron-match) cmd_cron_match "$@" ;;
    cron-match-batch) cmd_cron_match_batch ;;
    help | -h | --help)
      usage
      exit "${EX_OK}"
      ;;
    *) usage_error "unknown command '${_main_command}'" ;;
  esac
  exit
}

main "$@"
