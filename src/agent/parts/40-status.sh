#######################################
# status.json and the cycle's records
#######################################

# jq definitions for the records: `num` and `str` turn '' (a value not known) into null.
readonly JQ_DEFS='def num: (tonumber? // null); def str: (if . == "" then null else . end);'

# records_in DIR: the folder the records of this process go to (WORK_DIR): the cycle's
# RUN_DIR, or a target job's own (30-children.sh); RESULTS_FILE is its targets.jsonl.
records_in() {
  WORK_DIR=$1 RESULTS_FILE="$1/targets.jsonl"
}

# append_json FILE FILTER [JQ_ARGS...]: appends the compact result of `jq -n FILTER` to FILE.
append_json() {
  _aj_file=$1 _aj_filter=$2
  shift 2
  jq -cn "$@" "${JQ_DEFS} ${_aj_filter}" >>"${_aj_file}" && return 0
  log ERROR status "cannot append to ${_aj_file}"
  return 1
}

# status_update FILTER [JQ_ARGS...]: atomically replaces status.json by FILTER applied to it
# (or to a minimal status; $prev[0] is the previous one, if valid). Under the cycle lock. One
# jq call; a second one only when the previous status is not a JSON object.
status_update() {
  _su_filter=$1 _su_tmp="${STATUS_FILE}.tmp.$$" _su_prev=/dev/null
  shift
  [ ! -f "${STATUS_FILE}" ] || _su_prev=${STATUS_FILE}
  set -- "$@" --arg host "${HOST:-}" "${JQ_DEFS} (\$prev[0] // {version: 1, host: \$host,
    state: null, targets: []}) | if type == \"object\" then . else error(\"no object\") end
    | ${_su_filter}"
  if ! jq -n --slurpfile prev "${_su_prev}" "$@" >"${_su_tmp}" 2>/dev/null; then
    [ "${_su_prev}" != /dev/null ] &&
      log WARN status "${STATUS_FILE} is not valid JSON; last success is not carried over"
    jq -n --slurpfile prev /dev/null "$@" >"${_su_tmp}" || {
      log ERROR status "cannot write ${_su_tmp}"
      rm -f "${_su_tmp}" || true
      return 1
    }
  fi
  mv -f "${_su_tmp}" "${STATUS_FILE}" && return 0
  log ERROR status "cannot replace ${STATUS_FILE}"
  rm -f "${_su_tmp}" || true
  return 1
}

# status_write_running STARTED_EPOCH: state "running"; everything else carried over.
# shellcheck disable=SC2016 # a jq program
status_write_running() {
  status_update '($prev[0] // {}) as $p
    | $p + {version: 1, host: $host, state: "running", started_at: $started,
       finished_at: null, duration_seconds: null,
       last_success_at: ($p.last_success_at // null),
       last_success_epoch: ($p.last_success_epoch // null), targets: ($p.targets // [])}' \
    --arg started "$(iso_utc "$1")"
}

# status_write_final STATE STARTED FINISHED RESULTS_FILE [maintenance]: the cycle's outcome,
# with its quiesce section and its content record (RUN_DIR/content.json, when this cycle
# checked its dump or sources); last_success_* (overall and per target) kept where this cycle
# did not succeed. With `maintenance`, status_write_maintenance's records too, in one jq call.
# shellcheck disable=SC2016 # a jq program
status_write_final() {
  _sf_update=status_update _sf_then=''
  [ -z "${5:-}" ] || _sf_update=maintenance_update _sf_then='| maintenance'
  "${_sf_update}" "${QUIESCE_SECTION}"'($prev[0] // {}) as $p
    | $p + {version: 1, host: $host, state: $state, started_at: $started,
       finished_at: $finished, duration_seconds: ($finished_epoch - $started_epoch),
       last_success_at:
         (if $state == "ok" then $finished else ($p.last_success_at // null) end),
       last_success_epoch:
         (if $state == "ok" then $finished_epoch else ($p.last_success_epoch // null) end),
       targets: [$results[] | . as $t
         | ([($p.targets // [])[] | select(.name == $t.name)] | first // {}) as $old
         | $t + (if $t.result == "ok"
             then {last_success_at: $finished, last_success_epoch: $finished_epoch}
             else {last_success_at: ($old.last_success_at // null),
                   last_success_epoch: ($old.last_success_epoch // null)} end)],
       quiesce: quiesce_section}
    | if ($content | length) > 0 then .content = $content[0] else . end'"${_sf_then}" \
    --slurpfile results "$4" --slurpfile content "${RUN_DIR}/content.json" --arg state "$1" \
    --arg started "$(iso_utc "$2")" --arg finished "$(iso_utc "$3")" \
    --argjson started_epoch "$2" --argjson finished_epoch "$3" --arg quiesce "$(quiesce_fields)"
}

# The jq definition `maintenance`: merges the records of retention, prune and verification
# into status.json. The last check (of a target, a replica), prune and drill stay until a
# newer one replaces them; verification.state is "failed" while any of them found errors.
# shellcheck disable=SC2016 # a jq program
readonly STATUS_MAINTENANCE='
def maintenance:
  def words: [split(" ")[] | select(. != "")];
  def last_named($list; $n): [$list[] | select(.name == $n)] | last;
  def key: "\(.target)/\(.name)";
  ($names | words) as $names
  | def per_target($new; $old):
      [$names[] as $n | (last_named($new; $n) // last_named($old; $n)) | select(. != null)];
  . as $p
  | .targets = [(.targets // [])[] | . as $t | last_named($retention; $t.name) as $r
      | if $r == null then . else . + {retention: ($r | del(.name))} end
      # restic 0.14 reports 8 digits of the snapshot id; the retention phase found them all.
      | (last_named($ids; $t.name).snapshot_id // "") as $full
      | if $full != "" and ($t.snapshot_id // "") != "" and ($full | startswith($t.snapshot_id))
        then .snapshot_id = $full else . end]
  | .prune = {schedule: $prune_schedule, due: ($due | words),
      targets: per_target($prune; $p.prune.targets // [])}
  | .verification = ((($p.verification // {}) | . as $old
      | {read_data_days: $days, read_data_subsets: $subsets,
         drill_schedule: $drill_schedule, targets: per_target($checks; $old.targets // []),
         replicas: ([$replicas[] | key] as $fresh
           | [($old.replicas // [])[] | select((key as $k | $fresh | index($k)) == null)]
             + $replicas
           | map(select(.target as $t | $names | index($t) != null))),
         drill: (if ($drill | length) > 0 then $drill[-1] else ($old.drill // null) end)})
    | . + {errors: ([.targets[] | select(.result == "failed")
          | "target \(.name): check failed: \(.error // "?")"]
        + [.replicas[] | select(.result == "failed")
          | "replica \(.name) of \(.target): check failed: \(.error // "?")"]
        + [.drill // empty | select(.result == "failed")
          | "restore drill failed: \(.error // "?")"])}
    | . + {state: (if (.errors | length) > 0 then "failed"
        elif (.targets | length) + (.replicas | length) > 0 or .drill != null then "ok"
        else "never" end)});
'

# status_write_maintenance: the cycle's retention, prune and verification records.
status_write_maintenance() {
  maintenance_update maintenance
}

# maintenance_update FILTER [JQ_ARGS...]: status_update with FILTER, which may use
# `maintenance`, and the records and settings it reads.
maintenance_update() {
  _mu_filter=$1 _mu_names=$(list_target_names) _mu_due=''
  shift
  for _mu_name in ${_mu_names}; do
    [ ! -f "${DUE_DIR}/prune.${_mu_name}" ] || _mu_due="${_mu_due} ${_mu_name}"
  done
  status_update "${STATUS_MAINTENANCE} ${_mu_filter}" "$@" \
    --arg names "${_mu_names}" --arg due "${_mu_due}" \
    --slurpfile retention "${WORK_DIR}/retention.jsonl" --slurpfile ids "${WORK_DIR}/ids.jsonl" \
    --slurpfile prune "${WORK_DIR}/prune.jsonl" \
    --slurpfile checks "${WORK_DIR}/checks.jsonl" \
    --slurpfile replicas "${WORK_DIR}/replicas.jsonl" \
    --slurpfile drill "${WORK_DIR}/drill.jsonl" \
    --arg prune_schedule "${PRUNE_SCHEDULE:-}" --arg drill_schedule "${DRILL_SCHEDULE:-}" \
    --argjson days "${VERIFY_DAYS_JSON}" --argjson subsets "${VERIFY_SUBSETS}"
}

# record_result NAME RESULT SNAPSHOT BYTES NEW CHANGED DURATION EXIT ERROR MANIFEST: one
# target's backup outcome.
# shellcheck disable=SC2016 # a jq program
record_result() {
  append_json "${RESULTS_FILE}" '{name: $name, result: $result,
      snapshot_id: ($snapshot | str), bytes_added: ($bytes | num), files_new: ($new | num),
      files_changed: ($changed | num), duration_seconds: ($duration | num),
      exit_code: ($code | num), error: ($error | str), manifest: ($manifest | str)}' \
    --arg name "$1" --arg result "$2" --arg snapshot "$3" --arg bytes "$4" --arg new "$5" \
    --arg changed "$6" --arg duration "$7" --arg code "$8" --arg error "$9" \
    --arg manifest "${10}"
}

# record_step FILE NAME RESULT ERROR [EXTRA_FILTER [JQ_ARGS...]]: one maintenance step's
# outcome, with the time and the fields of EXTRA_FILTER.
# shellcheck disable=SC2016 # a jq program
record_step() {
  _rk_file=$1 _rk_name=$2 _rk_result=$3 _rk_error=$4 _rk_extra=${5:-\{\}} _rk_now=$(now_epoch)
  shift 4
  [ "$#" -eq 0 ] || shift
  append_json "${_rk_file}" '{name: $name, result: $result, at: $at, epoch: $epoch,
      error: ($error | str)} + '"(${_rk_extra})" \
    --arg name "${_rk_name}" --arg result "${_rk_result}" --arg error "${_rk_error}" \
    --arg at "$(iso_utc "${_rk_now}")" --argjson epoch "${_rk_now}" "$@"
}
