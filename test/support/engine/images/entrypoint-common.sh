# shellcheck shell=sh
# What the postgres and mariadb stand-in entrypoints share (sourced by both; installed beside
# them as /usr/local/bin/docker-entrypoint-common.sh), after the functions of the same names in
# the official images' docker-entrypoint.sh. The entrypoint defines before sourcing:
#   note MESSAGE      its log line;
#   fail MESSAGE      its error line, then exit 1;
#   run_sql           feeds stdin to the temporary server as the init user.

# file_env VAR [DEFAULT]: VAR from $VAR or the file named by $VAR_FILE (not both).
file_env() {
	var=$1
	def=${2:-}
	eval "val=\${$var:-}"
	eval "fileval=\${${var}_FILE:-}"
	if [ -n "$val" ] && [ -n "$fileval" ]; then
		fail "Both $var and ${var}_FILE are set (but are exclusive)"
	fi
	if [ -z "$val" ]; then
		if [ -n "$fileval" ]; then
			val=$(cat "$fileval")
		else
			val=$def
		fi
	fi
	export "$var=$val"
	unset "${var}_FILE"
}

# process_init_files: /docker-entrypoint-initdb.d/*.sh (run, or sourced when not executable),
# *.sql and *.sql.gz (fed to run_sql), in name order; anything else is ignored.
process_init_files() {
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
			*.sh)
				note "$0: running $f"
				# shellcheck disable=SC1090 # the user's own init script
				if [ -x "$f" ]; then "$f"; else . "$f"; fi
				;;
			*.sql) note "$0: running $f"; run_sql < "$f" ;;
			*.sql.gz) note "$0: running $f"; gunzip -c "$f" | run_sql ;;
			*) note "$0: ignoring $f" ;;
		esac
	done
}

# wants_help OPTIONS ARGS...: whether one of the arguments is one of OPTIONS (the server's
# options that only print and exit: no initialisation then).
wants_help() {
	options=$1
	shift
	for arg; do
		case " $options " in
			*" $arg "*) return 0 ;;
		esac
	done
	return 1
}
