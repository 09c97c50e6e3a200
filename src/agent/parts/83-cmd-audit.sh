#######################################
# audit: snapshots dated by the storage, not by restic
#######################################

# A snapshot's time is whatever its writer said (`restic backup --time`): a compromised
# sidecar holding the password can add a snapshot dated before its attack. The storage's own
# write time of the snapshot's file cannot be chosen by the writer: a disk file's ctime (set
# by the kernel, changed by any touch or chmod, never settable back), an object's S3
# LastModified (set by S3, replicated with the object). restic writes the file at the end of
# the backup, so for a genuine snapshot the write time lies between its restic time and that
# time plus the longest backup call (networkTimeoutSeconds), give or take the clocks' skew.

# Seconds two clocks (the sidecar's, the storage's) may disagree by.
readonly AUDIT_CLOCK_SKEW=300

# jq program: restic's `snapshots --json` in, one line per snapshot out (short id, restic
# time, write time, verdict), oldest first; $written holds "<path or id> <time>" lines (a
# time in epoch seconds or RFC 3339, e.g. the AWS CLI's "2026-12-07T02:01:33+00:00").
# shellcheck disable=SC2016 # jq's $-variables
readonly AUDIT_JQ='
def epoch: if test("^[0-9]+$") then tonumber else
  capture("^(?<s>[0-9]{4}-[0-9]{2}-[0-9]{2})[T ](?<c>[0-9]{2}:[0-9]{2}:[0-9]{2})([.][0-9]+)?(?<z>Z|[+-][0-9]{2}:?[0-9]{2})$") as $m
  | ("\($m.s)T\($m.c)Z" | fromdateiso8601)
    - (if $m.z == "Z" then 0 else $m.z | capture("(?<g>.)(?<h>..):?(?<n>..)")
       | (if .g == "-" then -1 else 1 end) * ((.h | tonumber) * 3600 + (.n | tonumber) * 60) end)
  end;
def utc: strftime("%Y-%m-%dT%H:%M:%SZ");
def span: if . >= 86400 then "\(. / 86400 | floor)d" elif . >= 3600 then "\(. / 3600 | floor)h"
  else "\(. / 60 | floor)m" end;
($written | split("\n") | map(capture("^(.*/)?(?<id>[0-9a-f]{64})[ \t]+(?<t>[^ \t]+)[ \t]*$")?
  | {key: .id, value: (.t | epoch)}) | from_entries) as $at
| sort_by(.time) | .[] | (.time | epoch) as $t | $at[.id] as $w
| [.short_id, ($t | utc), (if $w == null then "unknown" else $w | utc end),
   (if $w == null then "unknown"
    elif $w - $t > $window then "BACKDATED by \($w - $t | span)"
    elif $t - $w > $skew then "FUTURE-DATED by \($t - $w | span)"
    else "ok" end)]
| join("  ")'

# cmd_audit [--target NAME] [--written FILE]: lists each target's snapshots with their restic
# time, the storage's write time and a verdict; exit 1 when a snapshot's times disagree. A
# disk target's write times are its snapshot files' ctimes; another target's come from
# FILE (one "<key or id> <time>" line per snapshot object, e.g. from `aws s3api
# list-objects-v2 ... --output text`, read with the operator's own credentials), or are unknown.
cmd_audit() {
  parse_options audit value '--target --written' "$@" || return
  if [ -n "${OPT_WRITTEN}" ] && [ -z "${OPT_TARGET}" ]; then
    usage_error "audit: --written lists the objects of one target: give --target too"
    return
  fi
  select_targets "${OPT_TARGET}" || return
  make_tmp_work || return
  _au_status=${EX_OK}
  for _au_i in ${SELECTED_TARGETS}; do
    audit_target "${_au_i}" "$(target_get "${_au_i}" NAME)" || _au_status=${EX_FAIL}
  done
  return "${_au_status}"
}

# audit_target INDEX NAME: prints the target's snapshots with both times and a verdict.
audit_target() {
  _at_started=$(clock) _at_repo=$(target_get "$1" REPOSITORY)
  run_restic "$1" "${TMP_WORK}/snapshots.json" "${TMP_WORK}/err" snapshots --json
  _at_rc=$?
  if [ "${_at_rc}" -ne 0 ]; then
    log ERROR audit "target=$2 $(describe_failure "${_at_rc}" "${TMP_WORK}/err" "${_at_started}")"
    return 1
  fi
  : >"${TMP_WORK}/written"
  if [ -n "${OPT_WRITTEN}" ]; then
    cat -- "${OPT_WRITTEN}" >"${TMP_WORK}/written" || {
      log ERROR audit "target=$2 cannot read ${OPT_WRITTEN}"
      return 1
    }
  else
    case ${_at_repo} in
      /*)
        for _at_file in "${_at_repo}"/snapshots/*; do
          [ ! -f "${_at_file}" ] || stat -c '%n %Z' "${_at_file}" >>"${TMP_WORK}/written" || return 1
        done
        ;;
    esac
  fi
  if ! jq -r --rawfile written "${TMP_WORK}/written" --argjson skew "${AUDIT_CLOCK_SKEW}" \
    --argjson window "$((NETWORK_TIMEOUT + AUDIT_CLOCK_SKEW))" "${AUDIT_JQ}" \
    "${TMP_WORK}/snapshots.json" >"${TMP_WORK}/audit" 2>"${TMP_WORK}/err"; then
    log ERROR audit "target=$2 cannot compare the times: $(head -c 300 "${TMP_WORK}/err")"
    return 1
  fi
  printf '== target %s: snapshot, restic time, written to storage, verdict ==\n' "$2"
  cat "${TMP_WORK}/audit"
  _at_total=$(wc -l <"${TMP_WORK}/audit")
  _at_suspect=$(grep -c -e ' BACKDATED ' -e ' FUTURE-DATED ' "${TMP_WORK}/audit")
  _at_unknown=$(grep -c ' unknown$' "${TMP_WORK}/audit")
  if [ "${_at_suspect}" -gt 0 ]; then
    log ERROR audit "target=$2 ${_at_suspect} of ${_at_total} snapshot(s) were written to the" \
      "storage at another time than restic says: forged or rewritten, do not restore them"
    return 1
  fi
  if [ "${_at_unknown}" -gt 0 ]; then
    log WARN audit "target=$2 ${_at_unknown} of ${_at_total} snapshot(s) without a write time:" \
      "pass the storage's own listing with --written (docs/restore.md)"
    return 0
  fi
  log INFO audit "target=$2 ${_at_total} snapshot(s), each written when restic says"
}
