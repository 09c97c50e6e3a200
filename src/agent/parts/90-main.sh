#######################################
# cron-match-batch (hidden, for tests)
#######################################

# cmd_cron_match_batch (hidden, for tests): reads "SETS<TAB>EPOCH" lines from stdin (SETS as
# cron_matches reads them) and prints, per line, 0 when the schedule fires then, else 1. One
# process for thousands of checks.
cmd_cron_match_batch() {
  _cb_tab=$(printf '\t')
  while IFS=${_cb_tab} read -r _cb_sets _cb_epoch; do
    cron_matches "${_cb_sets}" "${_cb_epoch}"
    printf '%s\n' "$?"
  done
  return "${EX_OK}"
}

# usage: the commands, with the paths TypeScript decides (the generated part's constants).
usage() {
  cat <<EOF
usage: backup-agent COMMAND [OPTIONS]

  daemon                      run \`run\` whenever the plan's schedule fires (never returns)
  run                         one backup cycle now, to every target; writes status.json
  snapshots [--target NAME] [-- RESTIC_ARGS]
                              list the snapshots of one target or of every target
  init                        open every target's repository, initialising missing ones
                              (the install container runs it; the init plan's init
                              credentials serve \`restic init\` only)
  restore [--target NAME] [--snapshot ID|latest] [--to DIR] [-- RESTIC_ARGS]
                              restore a snapshot (default: this host's latest, first
                              target, to the plan's restoreDir); paths keep their absolute
                              form under DIR, e.g. DIR${SOURCE_ROOT}/<volume>/...;
                              a warning (exit 0) when only owners could not be set
  verify [--target NAME] [--no-drill] [-- RESTIC_ARGS]
                              verification now: restic check of one target or of every
                              target (the next data subset, or RESTIC_ARGS), the replicas'
                              read-only checks, and the restore drill
  audit [--target NAME [--written FILE]]
                              each snapshot's restic time beside the time the storage
                              wrote it (a disk target's file ctime; another target's from
                              FILE, the storage's own listing); exit 1 when they disagree:
                              a snapshot forged with a false date
  prune [--target NAME]       restic prune of one target or of every target now
  health                      exit 0 while the last successful cycle is fresh and the last
                              verification found no errors (reads status.json only)

Configuration: the plan, BACKUP_PLAN (default ${PLAN_FILE}); see\\ndocs/agent-contract.md.
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
    help | -h | --help | cron-match-batch) ;;
    *) plan_load || exit ;;
  esac
  case ${_main_command} in
    run) cmd_run "$@" ;;
    daemon) cmd_daemon "$@" ;;
    snapshots) cmd_snapshots "$@" ;;
    audit) cmd_audit "$@" ;;
    init) cmd_init "$@" ;;
    restore) cmd_restore "$@" ;;
    verify) cmd_verify "$@" ;;
    prune) cmd_prune "$@" ;;
    due) cmd_due "$@" ;;
    health) cmd_health "$@" ;;
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
