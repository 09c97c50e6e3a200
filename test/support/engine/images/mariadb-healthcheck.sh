#!/bin/sh
# healthcheck.sh of the mariadb stand-in image (test/support/engine/database-images.ts).
#
# The official image ships /usr/local/bin/healthcheck.sh (bash) for users to call from their own
# HEALTHCHECK, e.g. `healthcheck.sh --connect --innodb_initialized`; it logs in as the
# `healthcheck` user the entrypoint created, with <datadir>/.my-healthcheck.cnf. This one, written
# for this project, knows those two tests only: --connect (the server answers over TCP, so the
# temporary server of the first start, which has no networking, does not count) and
# --innodb_initialized (InnoDB is available). Any other option is refused.
set -eu

datadir=/var/lib/mysql
cnf=$datadir/.my-healthcheck.cnf
[ $# -gt 0 ] || { echo 'At least one argument required' >&2; exit 1; }

sql() {
	if [ -f "$cnf" ]; then
		mariadb --defaults-extra-file="$cnf" --skip-ssl -B -N "$@"
	else
		mariadb --skip-ssl -B -N "$@"
	fi
}

for arg; do
	case "$arg" in
		--connect)
			out=$(sql --protocol=tcp -h 127.0.0.1 -e 'SELECT 1' 2>&1) || {
				case "$out" in
					*'(28000)'*) ;; # access denied: the server did answer
					*) echo "healthcheck connect failed: $out" >&2; exit 1 ;;
				esac
			}
			;;
		--innodb_initialized)
			[ "$(sql --protocol=tcp -h 127.0.0.1 -e "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES','DEFAULT','ENABLED')")" = 1 ] || {
				echo 'healthcheck innodb_initialized failed' >&2
				exit 1
			}
			;;
		*) echo "healthcheck unknown option or test '$arg' (the stand-in knows --connect and --innodb_initialized)" >&2; exit 1 ;;
	esac
done
