#######################################
# snapshots, restore, verify
#######################################

# select_targets NAME: sets SELECTED_TARGETS (indexes) to the named target, or all.
select_targets() {
  if [ -z "$1" ]; then
    SELECTED_TARGETS=''
    _st_i=1
    while [ "${_st_i}" -le "${TARGET_COUNT}" ]; do
      SELECTED_TARGETS="${SELECTED_TARGETS} ${_st_i}"
      _st_i=$((_st_i + 1))
    done
    return 0
  fi
  if ! SELECTED_TARGETS=$(target_index "$1"); then
    log ERROR config "no target named '$1'; targets are:$(list_target_names)"
    return "${EX_USAGE}"
  fi
  return 0
}

list_target_names() {
  _ln_i=1
  while [ "${_ln_i}" -le "${TARGET_COUNT}" ]; do
    printf ' %s' "$(target_get "${_ln_i}" NAME)"
    _ln_i=$((_ln_i + 1))
  done
}

# make_tmp_work: a scratch directory for restic output, removed on exit.
make_tmp_work() {
  if ! TMP_WORK=$(mktemp -d "${TMPDIR:-/tmp}/backup-agent.XXXXXX"); then
    log ERROR tmp "cannot create a directory in ${TMPDIR:-/tmp}"
    return "${EX_FAIL}"
  fi
  return 0
}

cmd_snapshots() {
  _sn_target=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target)
        [ "$#" -ge 2 ] || { usage_error "--target needs a name"; return; }
        _sn_target=$2
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *)
        usage_error "snapshots: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  select_targets "${_sn_target}" || return
  make_tmp_work || return
  _sn_status=${EX_OK}
  for _sn_i in ${SELECTED_TARGETS}; do
    _sn_name=$(target_get "${_sn_i}" NAME)
    _sn_started=$(clock)
    run_restic "${_sn_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" snapshots "$@"
    _sn_rc=$?
    if [ "${_sn_rc}" -ne 0 ]; then
      log ERROR snapshots "target=${_sn_name} $(describe_failure "${_sn_rc}" "${TMP_WORK}/err" \
        "${_sn_started}")"
      _sn_status=${EX_FAIL}
      continue
    fi
    log INFO snapshots "target=${_sn_name} repository listed"
    printf '== target %s ==\n' "${_sn_name}"
    cat "${TMP_WORK}/out" || _sn_status=${EX_FAIL}
  done
  return "${_sn_status}"
}

# cmd_init: opens every target's repository, initialising the missing ones; run once at
# deploy time by the install container with the targets' init credentials (an S3 agent key
# may not write `config` or `keys/`), never by the daemon.
cmd_init() {
  [ "$#" -eq 0 ] || { usage_error "init takes no arguments"; return; }
  load_common || return
  load_targets || return
  make_tmp_work || return
  RUN_DIR=${TMP_WORK}
  _in_status=${EX_OK}
  _in_i=1
  while [ "${_in_i}" -le "${TARGET_COUNT}" ]; do
    _in_name=$(target_get "${_in_i}" NAME)
    TARGET_ERROR=''
    if ensure_repository "${_in_i}" "${_in_name}"; then
      log INFO init "target=${_in_name} repository ready"
    else
      log ERROR init "target=${_in_name} ${TARGET_ERROR}"
      _in_status=${EX_FAIL}
    fi
    _in_i=$((_in_i + 1))
  done
  return "${_in_status}"
}

cmd_restore() {
  _rs_target=''
  _rs_snapshot=latest
  _rs_to=''
  while [ "$#" -gt 0 ]; do
    case $1 in
      --target | --snapshot | --to)
        [ "$#" -ge 2 ] || { usage_error "$1 needs a value"; return; }
        case $1 in
          --target) _rs_target=$2 ;;
          --snapshot) _rs_snapshot=$2 ;;
          --to) _rs_to=$2 ;;
        esac
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *)
        usage_error "restore: unknown option '$1'"
        return
        ;;
    esac
  done
  load_common || return
  load_targets || return
  if [ -z "${_rs_target}" ]; then
    _rs_i=1
  else
    select_targets "${_rs_target}" || return
    _rs_i=${SELECTED_TARGETS}
  fi
  _rs_name=$(target_get "${_rs_i}" NAME)
  [ -n "${_rs_to}" ] || _rs_to=${RESTORE_DIR:-/tmp/restore}
  if ! mkdir -p "${_rs_to}"; then
    log ERROR restore "cannot create ${_rs_to}"
    return "${EX_FAIL}"
  fi
  make_tmp_work || return
  if [ "${_rs_snapshot}" = latest ]; then
    if [ -z "${HOST:-}" ]; then
      log ERROR config "HOST is empty: needed to find this host's latest snapshot"
      return "${EX_USAGE}"
    fi
    set -- restore latest --host "${HOST}" --target "${_rs_to}" "$@"
  else
    set -- restore "${_rs_snapshot}" --target "${_rs_to}" "$@"
  fi
  log INFO restore "target=${_rs_name} snapshot ${_rs_snapshot} to ${_rs_to}"
  _rs_started=$(clock)
  run_restic "${_rs_i}" "${TMP_WORK}/out" "${TMP_WORK}/err" "$@"
  _rs_rc=$?
  cat "${TMP_WORK}/out" || true
  if [ "${_rs_rc}" -eq 1 ]; then
    # Without CAP_CHOWN (the sidecar drops it) restic restores contents, modes and links but
    # cannot give entries back to their owners: say so, and how to restore them too.
    if only_owner_errors "${TMP_WORK}/err"; then
      log WARN restore "target=${_rs_name} contents, modes and links restored to ${_rs_to};" \
        "ownership of ${OWNER_ERRORS} entries not restored: this container lacks CAP_CHOWN." \
        "To restore owners as well, run the restore in a container with" \
        "--cap-add CHOWN --cap-add FOWNER (e.g. docker run with this sidecar's volumes)"
      return "${EX_OK}"
    fi
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
