#######################################
# What the cycle was told to back up: the quiesce command's dump, and the sources
#######################################

# A cycle that backs up nothing it was told to must fail, not turn green: a dump command that
# exits 0 without writing its file (wrong path, wrong credentials, nothing to dump), or a source
# that is empty because its volume name was mistyped (Docker then creates a new, empty volume).
# Both are mistakes that will not fix themselves, so `health` is red at once (85-health.sh).

# How many seconds before the exec began a dump's modification time may lie and still count as
# written by this cycle's command. The file's time and the agent's clock are the same clock:
# the protected container and the sidecar run on one host kernel, which stamps the file
# (containers have no wall clock of their own), so there is no skew to allow for. The margin
# is for rounding only: the kernel stamps files from its coarse clock, up to one tick behind
# the one `date` reads, and both sides are whole seconds, so a dump written in the first
# milliseconds may carry the second before. A dump left by an earlier cycle is minutes or
# hours older. (A volume on a network file system is stamped by its server: keep that in sync.)
readonly DUMP_CLOCK_SLACK_SECONDS=2

# content_reset: nothing checked yet in this cycle.
content_reset() {
  CONTENT_CHECKED='' CONTENT_DUMP='' CONTENT_DUMP_SIZE='' CONTENT_DUMP_MTIME=''
  CONTENT_SOURCES='' CONTENT_ERROR='' CONTENT_PROBLEMS="${RUN_DIR}/content-problems.jsonl"
  : >"${CONTENT_PROBLEMS}" && : >"${RUN_DIR}/content.json"
}

# content_problem KIND PATH ERROR FIX: records one thing the cycle did not find as told.
# shellcheck disable=SC2016 # a jq program
content_problem() {
  append_json "${CONTENT_PROBLEMS}" '{kind: $kind, path: $path, error: $error, fix: $fix}' \
    --arg kind "$1" --arg path "$2" --arg error "$3" --arg fix "$4" || true
}

# dump_check STARTED: after the exec command exited 0, its output (quiesce.output) must be
# there, hold something (a file of more than 0 bytes; a folder, as mongodump --out writes,
# with such a file in it) and have been written since STARTED, the agent's clock when the
# command began. Sets CONTENT_DUMP (ok, missing, empty, stale) and, when it is not ok,
# QUIESCE_ERROR (what was expected, what was found, the fix) and a problem record; returns 1.
dump_check() {
  [ -n "${QUIESCE_OUTPUT:-}" ] || return 0
  CONTENT_CHECKED=1 CONTENT_DUMP=ok _dc_count=1
  _dc_path=${QUIESCE_OUTPUT} _dc_wanted=${QUIESCE_OUTPUT_CONTAINER:-${QUIESCE_OUTPUT}}
  if [ -d "${_dc_path}" ]; then
    # The dump's own files only (a few per database): the newest non-empty one, and the total.
    find "${_dc_path}" -type f -exec stat -c '%Y %s' {} + >"${RUN_DIR}/dump-files.txt" \
      2>"${RUN_DIR}/dump-files.err"
    read -r CONTENT_DUMP_MTIME CONTENT_DUMP_SIZE _dc_count <<EOF
$(awk '$2 > 0 { if (n == 0 || $1 > m) m = $1; s += $2; n++ }
  END { if (n > 0) print m, s, n; else print "- 0 0" }' "${RUN_DIR}/dump-files.txt")
EOF
    [ "${CONTENT_DUMP_MTIME}" != - ] || CONTENT_DUMP_MTIME=''
  elif [ -e "${_dc_path}" ]; then
    read -r CONTENT_DUMP_MTIME CONTENT_DUMP_SIZE <<EOF
$(stat -L -c '%Y %s' "${_dc_path}" 2>/dev/null)
EOF
    is_uint "${CONTENT_DUMP_MTIME:-}" || CONTENT_DUMP=missing
  else
    CONTENT_DUMP=missing
  fi
  _dc_found=''
  if [ "${CONTENT_DUMP}" = missing ]; then
    _dc_found="there is no such file (${_dc_path} in the sidecar)"
    [ ! -e "${_dc_path}" ] || _dc_found="the sidecar cannot read ${_dc_path}"
  elif [ "${_dc_count}" = 0 ]; then
    CONTENT_DUMP=empty _dc_found='the file is empty (0 bytes)'
    [ ! -d "${_dc_path}" ] || _dc_found='the folder holds no file of more than 0 bytes'
  elif [ "${CONTENT_DUMP_MTIME}" -lt $(($1 - DUMP_CLOCK_SLACK_SECONDS)) ]; then
    CONTENT_DUMP=stale
    _dc_found="it was last written at $(iso_utc "${CONTENT_DUMP_MTIME}"), before the command"
    _dc_found="${_dc_found} began at $(iso_utc "$1") (a dump of an earlier cycle)"
  elif [ "${CONTENT_DUMP_SIZE:-0}" = 0 ]; then
    CONTENT_DUMP=empty _dc_found='the file is empty (0 bytes)'
  fi
  [ -n "${_dc_found}" ] || return 0
  _dc_error="the command exited 0 but wrote nothing to ${_dc_wanted}: ${_dc_found}"
  [ "${CONTENT_DUMP}" != stale ] ||
    _dc_error="the command exited 0 but did not write ${_dc_wanted}: ${_dc_found}"
  _dc_fix="check the command, its output path (it must write ${_dc_wanted}, quiesce.output)"
  _dc_fix="${_dc_fix} and the database credentials it uses; run it by hand with docker exec"
  _dc_fix="${_dc_fix} ${QUIESCED_CONTAINER} and read what it prints (this cycle's:"
  _dc_fix="${_dc_fix} ${RUN_DIR}/docker-exec-start.out)"
  content_problem "dump-${CONTENT_DUMP}" "${_dc_path}" "${_dc_error}" "${_dc_fix}"
  exec_failed "${_dc_error}; fix: ${_dc_fix}"
}

# sources_check: fails the cycle when a source holds no file (nothing at all, or folders only)
# and sourcesAllowedEmpty does not list it: backing it up would give retention empty snapshots
# to keep in place of good ones. Run after the quiesce step (a dump may be a volume's only
# file). Cheap on a large volume: `head` takes the first entry that is not a folder and exits,
# and `find` dies of SIGPIPE at its next write, so it never walks the whole tree. Sets
# CONTENT_SOURCES ("PATH RESULT" lines: ok, empty, allowed-empty, missing) and CONTENT_ERROR.
sources_check() {
  CONTENT_CHECKED=1 _sc_failed=''
  set -f
  for _sc_source in ${SOURCES}; do
    _sc_result=ok
    _sc_first=''
    [ ! -e "${_sc_source}" ] ||
      _sc_first=$(find "${_sc_source}" ! -type d 2>"${RUN_DIR}/sources-find.err" | head -n 1)
    if [ ! -e "${_sc_source}" ]; then
      _sc_result=missing
    elif [ -z "${_sc_first}" ]; then
      _sc_result=empty
      case " ${SOURCES_ALLOWED_EMPTY} " in *" ${_sc_source} "*) _sc_result=allowed-empty ;; esac
    fi
    CONTENT_SOURCES="${CONTENT_SOURCES}${_sc_source} ${_sc_result}
"
    case ${_sc_result} in
      allowed-empty) log INFO sources "${_sc_source} is empty, which sourcesAllowedEmpty allows" ;;
      empty) source_empty "${_sc_source}" && _sc_failed=1 ;;
    esac
  done
  set +f
  [ -z "${_sc_failed}" ]
}

# source_empty SOURCE: records and logs an empty source; adds it to CONTENT_ERROR.
source_empty() {
  _se_volume=${1##*/} _se_why=''
  [ ! -s "${RUN_DIR}/sources-find.err" ] ||
    _se_why=" ($(head -n 1 "${RUN_DIR}/sources-find.err" | cut -c 1-200))"
  _se_error="source $1 (volume ${_se_volume}) is empty: no file in it${_se_why}"
  _se_fix="check that volume ${_se_volume} is the one the application writes (a mistyped"
  _se_fix="${_se_fix} volume name makes Docker create a new, empty one: docker volume ls, and"
  _se_fix="${_se_fix} the container's mounts in docker inspect); if it may be empty, declare it"
  _se_fix="${_se_fix} allowEmpty: true (the plan's sourcesAllowedEmpty)"
  content_problem source-empty "$1" "${_se_error}" "${_se_fix}"
  log ERROR sources "${_se_error}; nothing is backed up or forgotten in this cycle; fix: ${_se_fix}"
  CONTENT_ERROR="${CONTENT_ERROR}${CONTENT_ERROR:+; }${_se_error}; fix: ${_se_fix}"
}

# content_record: this cycle's checks as status.json's `content` (RUN_DIR/content.json, which
# status_write_final merges) when the cycle got as far as one of them; otherwise (the quiesce
# failed first, the cycle was interrupted) the previous cycle's record stays.
# shellcheck disable=SC2016 # a jq program
content_record() {
  [ -n "${CONTENT_CHECKED}" ] || return 0
  _cr_now=$(now_epoch)
  jq -cn --slurpfile problems "${CONTENT_PROBLEMS}" --arg at "$(iso_utc "${_cr_now}")" \
    --argjson epoch "${_cr_now}" --arg path "${QUIESCE_OUTPUT:-}" \
    --arg container_path "${QUIESCE_OUTPUT_CONTAINER:-}" --arg dump "${CONTENT_DUMP}" \
    --arg size "${CONTENT_DUMP_SIZE}" --arg mtime "${CONTENT_DUMP_MTIME}" \
    --arg checked "${CONTENT_SOURCES}" --arg sources "${SOURCES}" "${JQ_DEFS}"'
    ([$checked | split("\n")[] | select(. != "") | split(" ") | {path: .[0], result: .[1]}])
      as $checked
    | {result: (if ($problems | length) > 0 then "failed" else "ok" end), at: $at,
       epoch: $epoch,
       dump: (if $path == "" then null else {path: $path, container_path: ($container_path | str),
         result: ($dump | str // "unchecked"), size: ($size | num),
         modified_at: ($mtime | num | if . == null then null else todate end)} end),
       sources: [$sources | split(" ")[] | select(. != "") as $s
         | ([$checked[] | select(.path == $s)] | first) // {path: $s, result: "unchecked"}],
       problems: $problems}' >"${RUN_DIR}/content.json" ||
    log ERROR status "cannot write ${RUN_DIR}/content.json"
}
