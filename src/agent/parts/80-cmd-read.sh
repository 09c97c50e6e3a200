#######################################
# snapshots, restore
#######################################

# The scratch directory of a command that holds no cycle (make_tmp_work), removed on exit.
TMP_WORK=''

# select_targets NAME: sets SELECTED_TARGETS (indexes) to the named target, or all.
select_targets() {
  if [ -z "$1" ]; then
    SELECTED_TARGETS=${TARGET_INDEXES}
  elif ! SELECTED_TARGETS=$(target_index "$1"); then
    log ERROR config "no target named '$1'; targets are:$(list_target_names)"
    return "${EX_USAGE}"
  fi
}

# make_tmp_work: a scratch directory for restic output, removed on exit.
make_tmp_work() {
  TMP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/backup-agent.XXXXXX") && return 0
  log ERROR tmp "cannot create a directory in ${TMPDIR:-/tmp}"
  return "${EX_FAIL}"
}

# parse_options COMMAND WORD ALLOWED ARGS...: reads the options in ALLOWED (e.g. '--target
# --to --') into OPT_TARGET, OPT_SNAPSHOT, OPT_TO, OPT_WRITTEN, OPT_NO_DRILL ("--target needs a WORD");
# `--` ends them (restic arguments follow). OPT_SHIFT: how many of ARGS were read.
parse_options() {
  _po_command=$1 _po_word=$2 _po_allowed=" $3 "
  shift 3
  OPT_TARGET='' OPT_SNAPSHOT=latest OPT_TO='' OPT_WRITTEN='' OPT_NO_DRILL='' OPT_SHIFT=$#
  while [ "$#" -gt 0 ]; do
    case ${_po_allowed} in
      *" $1 "*) ;;
      *) usage_error "${_po_command}: unknown option '$1'" || return ;;
    esac
    case $1 in
      --) shift && break ;;
      --no-drill) OPT_NO_DRILL=1 && shift && continue ;;
    esac
    [ "$#" -ge 2 ] || usage_error "$1 needs a ${_po_word}" || return
    case $1 in
      --target) OPT_TARGET=$2 ;;
      --snapshot) OPT_SNAPSHOT=$2 ;;
      --to) OPT_TO=$2 ;;
      --written) OPT_WRITTEN=$2 ;;
    esac
    shift 2
  done
  OPT_SHIFT=$((OPT_SHIFT - $#))
}

cmd_snapshots() {
  parse_options snapshots name '--target --' "$@" || return
  shift "${OPT_SHIFT}"
  select_targets "${OPT_TARGET}" || return
  make_tmp_work || return
  _sn_status=${EX_OK}
  for _sn_i in ${SELECTED_TARGETS}; do
    snapshots_target "${_sn_i}" "$(target_get "${_sn_i}" NAME)" "$@" || _sn_status=${EX_FAIL}
  done
  return "${_sn_status}"
}

# snapshots_target INDEX NAME [RESTIC_ARGS...]: prints the target's `restic snapshots`.
snapshots_target() {
  _sn_index=$1 _sn_name=$2 _sn_started=$(clock)
  shift 2
  run_restic "${_sn_index}" "${TMP_WORK}/out" "${TMP_WORK}/err" snapshots "$@"
  _sn_rc=$?
  if [ "${_sn_rc}" -ne 0 ]; then
    log ERROR snapshots "target=${_sn_name} $(describe_failure "${_sn_rc}" "${TMP_WORK}/err" \
      "${_sn_started}")"
    return 1
  fi
  log INFO snapshots "target=${_sn_name} repository listed"
  printf '== target %s ==\n' "${_sn_name}"
  cat "${TMP_WORK}/out"
}

cmd_restore() {
  parse_options restore value '--target --snapshot --to --' "$@" || return
  shift "${OPT_SHIFT}"
  select_targets "${OPT_TARGET}" || return
  _rs_i=${SELECTED_TARGETS%%[!0-9]*} # the first target when none is named
  _rs_name=$(target_get "${_rs_i}" NAME) _rs_to=${OPT_TO:-${RESTORE_DIR}}
  _rs_snapshot=${OPT_SNAPSHOT}
  mkdir -p "${_rs_to}" || { log ERROR restore "cannot create ${_rs_to}"; return "${EX_FAIL}"; }
  make_tmp_work || return
  if [ "${_rs_snapshot}" != latest ]; then
    set -- restore "${_rs_snapshot}" --target "${_rs_to}" "$@"
  elif [ -n "${HOST:-}" ]; then
    set -- restore latest --host "${HOST}" --target "${_rs_to}" "$@"
  else
    log ERROR config "HOST is empty: needed to find this host's latest snapshot"
    return "${EX_USAGE}"
  fi
  log INFO restore "target=${_rs_name} snapshot ${_rs_snapshot} to ${_rs_to}"
  _rs_started=$(clock)
  run_restic "${_rs_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" "$@"
  _rs_rc=$?
  cat "${TMP_WORK}/out" || true
  # Without CAP_CHOWN (the sidecar drops it) restic restores contents, modes and links but
  # cannot give entries back to their owners: say so, and how to restore them too.
  if [ "${_rs_rc}" -eq 1 ] && only_owner_errors "${TMP_WORK}/err"; then
    log WARN restore "target=${_rs_name} contents, modes and links restored to ${_rs_to};" \
      "ownership of ${OWNER_ERRORS} entries not restored: this container lacks CAP_CHOWN." \
      "To restore owners as well, run the restore in a container with" \
      "--cap-add CHOWN --cap-add FOWNER (e.g. docker run with this sidecar's volumes)"
    return "${EX_OK}"
  fi
  if [ "${_rs_rc}" -ne 0 ]; then
    log ERROR restore "target=${_rs_name} $(describe_failure "${_rs_rc}" "${TMP_WORK}/err" \
      "${_rs_started}")"
    return "${EX_FAIL}"
  fi
  log INFO restore "target=${_rs_name} restored snapshot ${_rs_snapshot} to ${_rs_to}" \
    "in $(($(clock) - _rs_started))s"
  return "${EX_OK}"
}
