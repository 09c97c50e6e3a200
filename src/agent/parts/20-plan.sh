#######################################
# The plan: everything synth decided (src/agent/agent-plan.ts, docs/agent-contract.md)
#######################################

# The jq program that turns the plan into shell assignments, every value quoted by @sh (only
# PLAN_VERSION when the plan is of another version; PLAN_SCHEMA_VERSION comes from TypeScript,
# in the generated part). A setting the agent cannot do without fails the load (`required`):
# the agent has no defaults of its own. Those are bound before the first assignment is
# printed, so that a plan without one prints nothing but the error (plan_load logs it). A schedule becomes its allowed values per
# field and the day rule, as cron_matches reads them; a repository's environment becomes the
# text target_export_env evaluates (`export NAME='value'`, `secret NAME FILE`, names checked).
# A target's init credentials (the init plan's `init`) become a scope of their own, `2_INIT`:
# the same repository with the other environment, for `restic init` alone, and when they stop
# working (RFC 3339, and as epoch seconds when jq can read it; "" otherwise).
# shellcheck disable=SC2016 # jq's $-variables, not the shell's
readonly PLAN_TO_SHELL='
def sets: if . == null then "" else
  ([.minutes, .hours, .daysOfMonth, .months, .daysOfWeek] | map("," + (map(tostring) | join(",")) + ","))
  + [if .bothDayFields then "both" else "either" end] | join("/") end;
def set($name; v): "\($name)=\(v | tostring | @sh)";
def required($what): if . == null then error("the plan has no \($what)") else . end;
def var: select(test("^[A-Za-z_][A-Za-z0-9_]*$"));
def environment:
  [(.environment | to_entries[] | (.key | var) as $k | "export \($k)=\(.value | @sh)"),
   (.secretFiles | to_entries[] | (.key | var) as $k | "secret \($k) \(.value | @sh)")]
  | join("\n");
def repository($p):
  set("T_\($p)_NAME"; .name), set("T_\($p)_REPOSITORY"; .repository),
  set("T_\($p)_PASSWORD_FILE"; .passwordFile), set("T_\($p)_CACERT"; .caCertificateFile // ""),
  set("T_\($p)_ENV"; environment);
if .schemaVersion != $version then set("PLAN_VERSION"; .schemaVersion // "none") else
(.sourcesAllowedEmpty | required("sourcesAllowedEmpty")) as $allowed_empty
| (.manifest.keep | required("manifest.keep")) as $manifest_keep
| (.notify | if . == null then "" else .timeoutSeconds | required("notify.timeoutSeconds") end)
  as $notify_timeout |
set("PLAN_VERSION"; .schemaVersion), set("HOST"; .host // ""), set("SOURCES"; .sources | join(" ")),
set("SOURCES_ALLOWED_EMPTY"; $allowed_empty | join(" ")), set("TAGS"; .tags | join(" ")),
set("TAG_FILTER"; .tags | join(",")), set("TZ"; .timeZone), set("STATE_DIR"; .stateDir),
set("RESTORE_DIR"; .restoreDir), set("DRILL_DIR"; .drillDir), set("RESTIC_CACHE_DIR"; .cacheDir),
set("NETWORK_TIMEOUT"; .networkTimeoutSeconds), set("MAX_AGE"; .healthMaxAgeSeconds),
set("RUN_ON_START"; .runOnStart), set("MANIFEST"; if .manifest.enabled then "on" else "off" end),
set("MANIFEST_KEEP"; $manifest_keep), set("RETENTION"; .retention | join(" ")),
set("SCHEDULE"; .schedule.expression), set("SCHEDULE_SETS"; .schedule | sets),
set("PRUNE_SCHEDULE"; .pruneSchedule.expression // ""), set("PRUNE_SETS"; .pruneSchedule | sets),
set("RETENTION_SCHEDULE"; .retentionSchedule.expression // ""),
set("RETENTION_SETS"; .retentionSchedule | sets), set("TARGET_CONCURRENCY"; .targetConcurrency),
set("CHECK_SCHEDULE"; .verification.checkSchedule.expression // ""),
set("CHECK_SETS"; .verification.checkSchedule | sets),
set("DRILL_SCHEDULE"; .verification.drillSchedule.expression // ""),
set("DRILL_SETS"; .verification.drillSchedule | sets),
set("VERIFY_SUBSETS"; .verification.readDataSubsets),
set("VERIFY_DAYS_JSON"; .verification.readAllDataWithinDays | tojson),
set("QUIESCE_MODE"; .quiesce.mode), set("QUIESCE_CONTAINER"; .quiesce.container // ""),
set("QUIESCE_SERVICE"; .quiesce.service // ""), set("QUIESCE_TASKS"; .quiesce.taskListPath // ""),
set("DOCKER_API"; .quiesce.dockerApi // "" | rtrimstr("/")),
set("QUIESCE_TIMEOUT"; .quiesce.timeoutSeconds), set("QUIESCE_ON_ERROR"; .quiesce.onError),
set("RELEASE_ATTEMPTS"; .quiesce.releaseAttempts), set("QUIESCE_COMMAND"; .quiesce.command | tojson),
set("QUIESCE_EXEC_BODY"; .quiesce.execBody // ""),
set("QUIESCE_OUTPUT"; .quiesce.output.path // ""),
set("QUIESCE_OUTPUT_CONTAINER"; .quiesce.output.containerPath // ""),
set("NOTIFY_URL_FILE"; .notify.urlFile // ""),
set("NOTIFY_TIMEOUT"; $notify_timeout), set("TARGET_COUNT"; .targets | length),
set("TARGET_INDEXES"; [range(1; (.targets | length) + 1)] | map(tostring) | join(" ")),
(.targets | range(0; length) as $i | .[$i] | ($i + 1) as $t |
  repository($t), set("T_\($t)_APPEND_ONLY"; .appendOnly),
  set("T_\($t)_REPLICA_COUNT"; .replicas | length),
  (.replicas | range(0; length) as $j | .[$j] | repository("\($t)_REPLICA_\($j + 1)")),
  set("T_\($t)_HAS_INIT"; .init != null),
  (select(.init != null) |
    (. + {environment: .init.environment, secretFiles: .init.secretFiles} | repository("\($t)_INIT")),
    set("T_\($t)_INIT_VALID_UNTIL"; .init.validUntil // ""),
    set("T_\($t)_INIT_VALID_EPOCH"; .init.validUntil // "" | try fromdateiso8601 catch ""),
    set("T_\($t)_INIT_RENEWAL"; .init.renewal // "")))
end
'

# plan_load: reads the plan (BACKUP_PLAN, by default PLAN_FILE) into the settings' globals in
# one jq call, and derives the paths of the state files from its stateDir. EX_USAGE when it
# is missing, not JSON, lacks a setting, or is written for another version of the agent.
plan_load() {
  PLAN=${BACKUP_PLAN:-${PLAN_FILE}}
  if ! _pl_vars=$(jq -r --argjson version "${PLAN_SCHEMA_VERSION}" "${PLAN_TO_SHELL}" "${PLAN}" \
    2>&1); then
    log ERROR config "cannot read the plan ${PLAN}: ${_pl_vars}; the installer writes it" \
      "(BACKUP_PLAN names another file)"
    return "${EX_USAGE}"
  fi
  eval "${_pl_vars}"
  if [ "${PLAN_VERSION}" != "${PLAN_SCHEMA_VERSION}" ]; then
    log ERROR config "the plan ${PLAN} has schema version ${PLAN_VERSION}, this agent reads" \
      "version ${PLAN_SCHEMA_VERSION}; re-deploy so that the agent and its plan are installed together"
    return "${EX_USAGE}"
  fi
  # A swarm backup task: its hostname is its node's, the restic host and the name of the
  # node's own Docker API proxy.
  [ -n "${HOST}" ] || HOST=$(hostname_now)
  STATUS_FILE="${STATE_DIR}/status.json" QUIESCE_MARKER="${STATE_DIR}/quiesce.held"
  DUE_DIR="${STATE_DIR}/due"
  readonly STATUS_FILE QUIESCE_MARKER DUE_DIR
  case ${DOCKER_API} in
    *'{node}'*) DOCKER_API="${DOCKER_API%%\{node\}*}$(hostname_now)${DOCKER_API#*\{node\}}" ;;
  esac
  TMPDIR=${TMPDIR:-/tmp}
  export TZ RESTIC_CACHE_DIR TMPDIR
  notify_url_check
}

# is_scope SCOPE: true for a target index (`2`), a replica of one (`2_REPLICA_1`) or its init
# credentials (`2_INIT`).
is_scope() {
  case $1 in
    *_REPLICA_*) is_uint "${1%%_REPLICA_*}" && is_uint "${1#*_REPLICA_}" ;;
    *_INIT) is_uint "${1%_INIT}" ;;
    *) is_uint "$1" ;;
  esac
}

# target_get SCOPE KEY: prints the KEY (NAME, REPOSITORY, PASSWORD_FILE, CACERT, ENV,
# APPEND_ONLY, REPLICA_COUNT, HAS_INIT, INIT_VALID_UNTIL, INIT_VALID_EPOCH, INIT_RENEWAL) of a
# target, replica or init scope, as plan_load set it. SCOPE is validated and KEY is a
# constant, so the eval is safe.
target_get() {
  is_scope "$1" || return 1
  eval "printf '%s' \"\${T_$1_$2:-}\""
}

# target_index NAME: prints the index of the target called NAME.
target_index() {
  for _ti_i in ${TARGET_INDEXES}; do
    if [ "$(target_get "${_ti_i}" NAME)" = "$1" ]; then
      printf '%s\n' "${_ti_i}"
      return 0
    fi
  done
  return 1
}
