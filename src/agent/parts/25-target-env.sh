# target_index NAME: prints the index of the target called NAME.
target_index() {
  _ti_i=1
  while [ "${_ti_i}" -le "${TARGET_COUNT}" ]; do
    if [ "$(target_get "${_ti_i}" NAME)" = "$1" ]; then
      printf '%s\n' "${_ti_i}"
      return 0
    fi
    _ti_i=$((_ti_i + 1))
  done
  return 1
}

# env_names PREFIX: prints the suffixes of the exported variables named PREFIX<SUFFIX>.
env_names() {
  env | sed -n "s/^$1\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p"
}

# target_export_env INDEX: exports the repository, password file and the target's own
# variables: BACKUP_TARGET_<i>_ENV_<VAR>=value is exported as <VAR>; when <VAR> ends in
# _FILE, <VAR> keeps the path and the variable without the suffix gets the file's content
# (BACKUP_TARGET_2_ENV_AWS_SECRET_ACCESS_KEY_FILE=/s/key exports AWS_SECRET_ACCESS_KEY_FILE
# and AWS_SECRET_ACCESS_KEY), which serves secrets and path variables such as
# AWS_SHARED_CREDENTIALS_FILE alike. Only ever called in the subshell that runs restic for
# that target, so nothing leaks to the other targets. A replica scope (`2_REPLICA_1`) gets
# its own repository and variables, and its target's password file unless it has its own.
target_export_env() {
  _te_i=$1
  RESTIC_REPOSITORY=$(target_get "${_te_i}" REPOSITORY) || return 1
  export RESTIC_REPOSITORY
  _te_password_file=$(target_get "${_te_i}" PASSWORD_FILE) || return 1
  if [ -z "${_te_password_file}" ] && [ "${_te_i}" != "${_te_i%%_REPLICA_*}" ]; then
    _te_password_file=$(target_get "${_te_i%%_REPLICA_*}" PASSWORD_FILE) || return 1
  fi
  if [ -n "${_te_password_file}" ]; then
    RESTIC_PASSWORD_FILE=${_te_password_file}
    export RESTIC_PASSWORD_FILE
  fi
  _te_names=$(env_names "BACKUP_TARGET_${_te_i}_ENV_") || return 1
  for _te_var in ${_te_names}; do
    eval "_te_value=\${BACKUP_TARGET_${_te_i}_ENV_${_te_var}}"
    # shellcheck disable=SC2154 # assigned by the eval above
    export "${_te_var}=${_te_value}" || return 1
    case ${_te_var} in
      ?*_FILE)
        if ! _te_content=$(cat -- "${_te_value}"); then
          printf 'cannot read %s (BACKUP_TARGET_%s_ENV_%s)\n' "${_te_value}" "${_te_i}" \
            "${_te_var}" >&2
          return 1
        fi
        export "${_te_var%_FILE}=${_te_content}" || return 1
        ;;
    esac
  done
  if [ -z "${RESTIC_PASSWORD_FILE:-}" ] && [ -z "${RESTIC_PASSWORD:-}" ]; then
    printf 'no repository password: set BACKUP_TARGET_%s_PASSWORD_FILE or RESTIC_PASSWORD_FILE\n' \
      "${_te_i}" >&2
    return 1
  fi
  if [ -n "${RESTIC_PASSWORD_FILE:-}" ] && [ ! -f "${RESTIC_PASSWORD_FILE}" ]; then
    printf 'password file %s does not exist\n' "${RESTIC_PASSWORD_FILE}" >&2
    return 1
  fi
  rest_credentials_in_url || return 1
  return 0
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
