#######################################
# Source manifest and log folders
#######################################

# manifest_create: hashes every file of the existing sources into MANIFEST_PENDING ('' when
# disabled or failed), in sha256sum -c format relative to /, to check a restore with.
manifest_create() {
  MANIFEST_PENDING=''
  case ${MANIFEST:-on} in
    off | false | no | 0) log INFO manifest "disabled by MANIFEST=${MANIFEST}" && return 0 ;;
  esac
  mkdir -p "${STATE_DIR}/manifests" || {
    log WARN manifest "cannot create ${STATE_DIR}/manifests; no manifest this cycle"
    return 0
  }
  set --
  set -f
  for _mc_source in ${EXISTING_SOURCES}; do
    _mc_rel=${_mc_source#/}
    set -- "$@" "${_mc_rel:-.}"
  done
  set +f
  [ "$#" -gt 0 ] || return 0
  _mc_pending="${STATE_DIR}/manifests/.pending-${RUN_ID}.sha256"
  if ! (cd / && find "$@" -type f -exec sha256sum {} +) >"${_mc_pending}.unsorted" \
    2>"${RUN_DIR}/manifest.err"; then
    log WARN manifest "some files could not be hashed: $(error_summary "${RUN_DIR}/manifest.err")"
  fi
  if ! LC_ALL=C sort -k 2 -o "${_mc_pending}" "${_mc_pending}.unsorted"; then
    log WARN manifest "cannot sort the manifest; no manifest this cycle"
    rm -f "${_mc_pending}" "${_mc_pending}.unsorted" || true
    return 0
  fi
  rm -f "${_mc_pending}.unsorted" || log WARN manifest "cannot remove ${_mc_pending}.unsorted"
  _mc_count=$(wc -l <"${_mc_pending}" | tr -d ' ') || _mc_count='?'
  log INFO manifest "sha256 of ${_mc_count} files recorded"
  MANIFEST_PENDING=${_mc_pending}
}

# manifest_attach SNAPSHOT_ID: links the pending manifest as manifests/<first 8 hex
# digits>.sha256 (whatever id form restic reports); prints that path relative to STATE_DIR.
manifest_attach() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  _ma_short=$(printf '%s' "$1" | cut -c 1-8)
  _ma_file="${STATE_DIR}/manifests/${_ma_short}.sha256"
  if ln -f "${MANIFEST_PENDING}" "${_ma_file}" 2>/dev/null ||
    cp "${MANIFEST_PENDING}" "${_ma_file}"; then
    printf 'manifests/%s.sha256\n' "${_ma_short}"
    return 0
  fi
  log WARN manifest "cannot write ${_ma_file}"
  return 1
}

# manifest_finish: drops the pending file and keeps the newest MANIFEST_KEEP manifests.
manifest_finish() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  rm -f "${MANIFEST_PENDING}" || log WARN manifest "cannot remove ${MANIFEST_PENDING}"
  _mf_keep=${MANIFEST_KEEP:-100} _mf_n=0
  is_uint "${_mf_keep}" || _mf_keep=100
  # Newest first; the names are snapshot ids (hex), safe to split.
  # shellcheck disable=SC2045
  for _mf_file in $(ls -1t "${STATE_DIR}/manifests"); do
    case ${_mf_file} in *.sha256) ;; *) continue ;; esac
    _mf_n=$((_mf_n + 1))
    [ "${_mf_n}" -le "${_mf_keep}" ] ||
      rm -f "${STATE_DIR}/manifests/${_mf_file}" || log WARN manifest "cannot remove ${_mf_file}"
  done
}

# logs_prune: keeps the restic output of the newest LOG_RUNS_KEPT cycles (the run-<UTC
# time>-<pid> folders sort oldest first).
logs_prune() {
  _lp_excess=$((-LOG_RUNS_KEPT))
  for _lp_dir in "${STATE_DIR}"/logs/run-*; do
    [ ! -d "${_lp_dir}" ] || _lp_excess=$((_lp_excess + 1))
  done
  for _lp_dir in "${STATE_DIR}"/logs/run-*; do
    [ "${_lp_excess}" -gt 0 ] || return 0
    [ -d "${_lp_dir}" ] || continue
    rm -rf "${_lp_dir}" || log WARN logs "cannot remove ${_lp_dir}"
    _lp_excess=$((_lp_excess - 1))
  done
}
