#######################################
# Source manifest and log folders
#######################################

# The cycle's manifest until it is linked to the snapshots ('' when there is none).
MANIFEST_PENDING=''

# The manifest: sha256 of every file of the sources at backup time, in sha256sum -c format
# relative to /, for the restore drill to check a restore with. Only a cycle with a drill due
# writes one. A live application may change files while the cycle runs (a database under an
# exec quiesce); restic then backs up other bytes than were hashed. So the size and modification
# time (ns) of every file are listed before the hashing and again after the backups: only the
# files that did not change in between stay in the manifest, and the others are listed in
# manifests/<id>.changed (reported by the drill, never compared).

# manifest_create: hashes every file of the existing sources into MANIFEST_PENDING ('' when
# disabled or failed), after listing their size and modification time.
manifest_create() {
  MANIFEST_PENDING='' MANIFEST_SOURCES=''
  [ "${MANIFEST}" = on ] || { log INFO manifest "disabled by MANIFEST=${MANIFEST}" && return 0; }
  mkdir -p "${STATE_DIR}/manifests" || {
    log WARN manifest "cannot create ${STATE_DIR}/manifests; no manifest this cycle"
    return 0
  }
  set -f
  for _mc_source in ${EXISTING_SOURCES}; do
    _mc_rel=${_mc_source#/}
    MANIFEST_SOURCES="${MANIFEST_SOURCES} ${_mc_rel:-.}"
  done
  set +f
  [ -n "${MANIFEST_SOURCES}" ] || return 0
  _mc_pending="${STATE_DIR}/manifests/.pending-${RUN_ID}.sha256"
  if ! manifest_stat "${_mc_pending}.before"; then
    log WARN manifest "cannot list the sources' files; no manifest this cycle"
    return 0
  fi
  set -f
  # shellcheck disable=SC2086 # the sources (volume names: no spaces), split on purpose
  if ! (cd / && find ${MANIFEST_SOURCES} -type f -exec sha256sum {} +) >"${_mc_pending}.unsorted" \
    2>"${RUN_DIR}/manifest.err"; then
    log WARN manifest "some files could not be hashed: $(error_summary "${RUN_DIR}/manifest.err")"
  fi
  set +f
  if ! LC_ALL=C sort -k 2 -o "${_mc_pending}" "${_mc_pending}.unsorted"; then
    log WARN manifest "cannot sort the manifest; no manifest this cycle"
    rm -f "${_mc_pending}" "${_mc_pending}.unsorted" || true
    return 0
  fi
  rm -f "${_mc_pending}.unsorted" || log WARN manifest "cannot remove ${_mc_pending}.unsorted"
  MANIFEST_PENDING=${_mc_pending}
}

# manifest_stat OUT: "<mtime with ns> <size> <path>" of every file of MANIFEST_SOURCES, sorted.
manifest_stat() {
  set -f
  # shellcheck disable=SC2086 # as in manifest_create
  (cd / && find ${MANIFEST_SOURCES} -type f -exec stat -c '%y %s %n' {} +) 2>/dev/null |
    LC_ALL=C sort >"$1"
  _ms_rc=$?
  set +f
  return "${_ms_rc}"
}

# manifest_seal: right after the backups (before the application is released), keeps in the
# manifest only the files whose size and modification time did not change since they were
# hashed; lists the others in MANIFEST_PENDING.changed.
# shellcheck disable=SC2016 # awk programs
manifest_seal() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  _mk_p=${MANIFEST_PENDING}
  if ! manifest_stat "${_mk_p}.after" ||
    ! awk 'NR == FNR { before[$0] = 1; next }
        { line = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", line) }
        $0 in before { print line > STABLE; delete before[$0]; next }
        { print line > CHANGED }
        END { for (b in before) { sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", b); print b > CHANGED } }' \
      STABLE="${_mk_p}.stable" CHANGED="${_mk_p}.changed" "${_mk_p}.before" "${_mk_p}.after" ||
    ! awk 'NR == FNR { keep[$0] = 1; next } substr($0, 67) in keep' "${_mk_p}.stable" "${_mk_p}" \
      >"${_mk_p}.sealed" || ! mv -f "${_mk_p}.sealed" "${_mk_p}"; then
    log WARN manifest "cannot compare the files before and after the backup; no manifest this cycle"
    rm -f "${_mk_p}" || true
    MANIFEST_PENDING=''
    return 0
  fi
  # A file that changed is listed twice (as it was, as it is) when it still exists.
  if [ -f "${_mk_p}.changed" ]; then
    LC_ALL=C sort -u -o "${_mk_p}.changed" "${_mk_p}.changed" || true
  else
    : >"${_mk_p}.changed"
  fi
  _mk_count=$(grep -c . "${_mk_p}") || _mk_count=0
  _mk_changed=$(grep -c . "${_mk_p}.changed") || _mk_changed=0
  log INFO manifest "sha256 of ${_mk_count} files recorded (${_mk_changed} changed while the" \
    "backup ran: not compared by the drill)"
}

# manifest_finish: links the sealed manifest (and its .changed list) as each snapshot's of
# this cycle (RESULTS_FILE's manifest fields), drops the pending files, and keeps the newest
# MANIFEST_KEEP manifests.
manifest_finish() {
  [ -n "${MANIFEST_PENDING}" ] || return 0
  for _mf_rel in $(jq -r '.manifest // empty' "${RESULTS_FILE}"); do
    _mf_file="${STATE_DIR}/${_mf_rel}"
    if ! { ln -f "${MANIFEST_PENDING}" "${_mf_file}" 2>/dev/null ||
      cp "${MANIFEST_PENDING}" "${_mf_file}"; } ||
      ! cp "${MANIFEST_PENDING}.changed" "${_mf_file%.sha256}.changed"; then
      log WARN manifest "cannot write ${_mf_file}"
    fi
  done
  rm -f "${MANIFEST_PENDING}" "${MANIFEST_PENDING}".* || log WARN manifest "cannot remove ${MANIFEST_PENDING}"
  _mf_n=0
  if ! is_uint "${MANIFEST_KEEP}"; then
    log WARN manifest "manifest.keep (${MANIFEST_KEEP}) is not a number; no manifest removed"
    return 0
  fi
  # Newest first; the names are snapshot ids (hex), safe to split.
  # shellcheck disable=SC2045
  for _mf_file in $(ls -1t "${STATE_DIR}/manifests"); do
    case ${_mf_file} in *.sha256) ;; *) continue ;; esac
    _mf_n=$((_mf_n + 1))
    [ "${_mf_n}" -le "${MANIFEST_KEEP}" ] || rm -f "${STATE_DIR}/manifests/${_mf_file}" \
      "${STATE_DIR}/manifests/${_mf_file%.sha256}.changed" || log WARN manifest "cannot remove ${_mf_file}"
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
