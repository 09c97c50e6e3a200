#######################################
# status.json
#######################################

# status_previous: prints the path of the previous status when it is valid JSON, else
# /dev/null (jq --slurpfile then gives []).
status_previous() {
  if [ -f "${STATUS_FILE}" ]; then
    if jq -e 'type == "object"' "${STATUS_FILE}" >/dev/null 2>&1; then
      printf '%s\n' "${STATUS_FILE}"
      return 0
    fi
    log WARN status "${STATUS_FILE} is not valid JSON; last success is not carried over"
  fi
  printf '/dev/null\n'
}

# status_commit TMPFILE: atomically replaces status.json.
status_commit() {
  if ! mv -f "$1" "${STATUS_FILE}"; then
    log ERROR status "cannot replace ${STATUS_FILE}"
    rm -f "$1" || true
    return 1
  fi
  return 0
}

# status_write_running STARTED_EPOCH: state "running"; everything else carried over.
status_write_running() {
  _sr_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" \
    --arg host "${HOST}" --arg started "$(iso_utc "$1")" '
      ($prev[0] // {}) as $p
      | $p + {version: 1, host: $host, state: "running", started_at: $started,
         finished_at: null, duration_seconds: null,
         last_success_at: ($p.last_success_at // null),
         last_success_epoch: ($p.last_success_epoch // null),
         targets: ($p.targets // [])}' >"${_sr_tmp}"; then
    log ERROR status "cannot write ${_sr_tmp}"
    rm -f "${_sr_tmp}" || true
    return 1
  fi
  status_commit "${_sr_tmp}"
}

# status_write_final STATE STARTED_EPOCH FINISHED_EPOCH RESULTS_FILE QUIESCE_JSON: the
# cycle's outcome; last_success_* (overall and per target) carried over where this cycle did
# not succeed; the verification, prune and notification sections carried over unchanged.
status_write_final() {
  _sf_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" --slurpfile results "$4" \
    --arg host "${HOST}" --arg state "$1" \
    --arg started "$(iso_utc "$2")" --arg finished "$(iso_utc "$3")" \
    --argjson started_epoch "$2" --argjson finished_epoch "$3" --argjson quiesce "$5" '
      ($prev[0] // {}) as $p
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
         quiesce: $quiesce}' \
    >"${_sf_tmp}"; then
    log ERROR status "cannot write ${_sf_tmp}"
    rm -f "${_sf_tmp}" || true
    return 1
  fi
  status_commit "${_sf_tmp}"
}

# status_update FILTER [JQ_ARGS...]: applies a jq FILTER to status.json (a minimal status
# when there is none yet) and commits it atomically. Only called under the cycle lock.
status_update() {
  _su_filter=$1
  shift
  _su_tmp="${STATUS_FILE}.tmp.$$"
  if ! jq -n --slurpfile prev "$(status_previous)" --arg host "${HOST:-}" "$@" \
    "(\$prev[0] // {version: 1, host: \$host, state: null, targets: []}) | ${_su_filter}" \
    >"${_su_tmp}"; then
    log ERROR status "cannot write ${_su_tmp}"
    rm -f "${_su_tmp}" || true
    return 1
  fi
  status_commit "${_su_tmp}"
}

# status_write_maintenance: merges what retention, prune and verification recorded in
# WORK_DIR (one JSON line per target, replica or drill) into status.json. A target's last
# check, a replica's last check, each target's last prune and the last drill are carried
# over until a newer one replaces them; verification.state is "failed" while any of those
# found errors (health is red then), "ok" when they all passed, "never" before the first.
status_write_maintenance() {
  _sm_names=$(list_target_names | jq -nR '[inputs | split(" ")[] | select(. != "")]') ||
    return 1
  _sm_due=$(prune_due_names | jq -nR '[inputs | split(" ")[] | select(. != "")]') || return 1
  # shellcheck disable=SC2016 # a jq program
  status_update '
    def last_named($list; $n): [$list[] | select(.name == $n)] | last;
    def key: "\(.target)/\(.name)";
    . as $p
    | .targets = [(.targets // [])[] | . as $t | last_named($retention; $t.name) as $r
        | if $r == null then . else . + {retention: ($r | del(.name))} end]
    | .prune = {schedule: $prune_schedule, due: $due,
        targets: [$names[] as $n | (last_named($prune; $n)
          // last_named($p.prune.targets // []; $n)) | select(. != null)]}
    | .verification = ((($p.verification // {}) | . as $old
        | {read_data_days: $days, read_data_subsets: $subsets,
           drill_schedule: $drill_schedule,
           targets: [$names[] as $n | (last_named($checks; $n)
             // last_named($old.targets // []; $n)) | select(. != null)],
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
          else "never" end)})' \
    --argjson names "${_sm_names}" --argjson due "${_sm_due}" \
    --slurpfile retention "${WORK_DIR}/retention.jsonl" \
    --slurpfile prune "${WORK_DIR}/prune.jsonl" \
    --slurpfile checks "${WORK_DIR}/checks.jsonl" \
    --slurpfile replicas "${WORK_DIR}/replicas.jsonl" \
    --slurpfile drill "${WORK_DIR}/drill.jsonl" \
    --arg prune_schedule "${PRUNE_SCHEDULE:-}" \
    --arg drill_schedule "${DRILL_SCHEDULE:-}" \
    --argjson days "${VERIFY_DAYS_JSON}" \
    --argjson subsets "${VERIFY_SUBSETS}"
}

# record_result NAME RESULT SNAPSHOT BYTES FILES_NEW FILES_CHANGED DURATION EXIT ERROR
# MANIFEST: appends one target's outcome to RESULTS_FILE.
record_result() {
  if ! jq -cn --arg name "$1" --arg result "$2" --arg snapshot "$3" --arg bytes "$4" \
    --arg files_new "$5" --arg files_changed "$6" --arg duration "$7" --arg code "$8" \
    --arg error "$9" --arg manifest "${10}" '
      def num: (tonumber? // null);
      def str: (if . == "" then null else . end);
      {name: $name, result: $result, snapshot_id: ($snapshot | str),
       bytes_added: ($bytes | num), files_new: ($files_new | num),
       files_changed: ($files_changed | num), duration_seconds: ($duration | num),
       exit_code: ($code | num), error: ($error | str), manifest: ($manifest | str)}' \
    >>"${RESULTS_FILE}"; then
    log ERROR status "cannot append to ${RESULTS_FILE}"
    return 1
  fi
  return 0
}
