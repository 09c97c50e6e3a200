#######################################
# A target's restic environment
#######################################

# secret NAME FILE: exports NAME (the file's content) and NAME_FILE (its path).
# shellcheck disable=SC2317 # called from the text target_export_env evaluates
secret() {
  if ! _se_value=$(cat -- "$2"); then
    printf 'cannot read %s (the secret file of %s)\n' "$2" "$1" >&2
    return 1
  fi
  export "$1=${_se_value}" "$1_FILE=$2"
}

# target_export_env SCOPE: exports what restic needs for a target (`2`) or one of its
# replicas (`2_REPLICA_1`): the repository, its password file, its environment and its
# secrets. Only ever called in the subshell that runs restic for that scope, so nothing leaks
# to the other targets.
target_export_env() {
  RESTIC_REPOSITORY=$(target_get "$1" REPOSITORY) || return 1
  RESTIC_PASSWORD_FILE=$(target_get "$1" PASSWORD_FILE)
  export RESTIC_REPOSITORY RESTIC_PASSWORD_FILE
  eval "$(target_get "$1" ENV)" || return 1
  if [ ! -f "${RESTIC_PASSWORD_FILE}" ]; then
    printf 'password file %s does not exist\n' "${RESTIC_PASSWORD_FILE}" >&2
    return 1
  fi
  rest_credentials_in_url
}

# rest_credentials_in_url: restic before 0.17 reads REST server credentials only from the
# URL. When RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD are set and the rest: URL has no
# credentials, puts them in it, percent-encoded (restic prints such URLs with the password
# masked). Called in the subshell of one restic run only.
rest_credentials_in_url() {
  [ -n "${RESTIC_REST_USERNAME:-}" ] && [ -n "${RESTIC_REST_PASSWORD:-}" ] || return 0
  case ${RESTIC_REPOSITORY} in
    rest:http://* | rest:https://*) ;;
    *) return 0 ;;
  esac
  _rc_rest=${RESTIC_REPOSITORY#rest:*://}
  case ${_rc_rest%%/*} in
    *@*) return 0 ;;
  esac
  # jq reads them from its environment ($ENV), never from its arguments: a process's
  # arguments are world-readable in /proc/PID/cmdline.
  if ! _rc_auth=$(jq -rn '"\($ENV.RESTIC_REST_USERNAME | @uri):\($ENV.RESTIC_REST_PASSWORD | @uri)"'); then
    printf 'cannot encode the REST server credentials\n' >&2
    return 1
  fi
  RESTIC_REPOSITORY="${RESTIC_REPOSITORY%%://*}://${_rc_auth}@${_rc_rest}"
  export RESTIC_REPOSITORY
}
