#!/bin/sh
# Entrypoint of the postgres stand-in image (test/support/engine/database-images.ts).
#
# Written for this project after the behaviour of docker-library/postgres's docker-entrypoint.sh
# (16/bookworm), in POSIX sh (the stand-in runs it with dash, Debian's /bin/sh), and reduced to
# what the tests rely on:
# - started as root with `postgres` as the command: make PGDATA (0700) and /var/run/postgresql
#   (03775), give everything in them not owned by postgres to postgres, then re-run this script
#   as postgres (uid 999) — the official image uses gosu, this one util-linux's setpriv;
# - first start (no PGDATA/PG_VERSION): refuse without POSTGRES_PASSWORD unless
#   POSTGRES_HOST_AUTH_METHOD=trust; initdb --username=$POSTGRES_USER with the password;
#   append `host all all all <password_encryption>` (scram-sha-256) to pg_hba.conf; start a
#   socket-only server, create $POSTGRES_DB if missing, run /docker-entrypoint-initdb.d/*.sql,
#   *.sql.gz and *.sh, stop it;
# - then exec the command (postgres, as postgres).
# The *_FILE variants of the variables are read as in the official image.
set -eu

note() { printf '%s\n' "$*"; }
fail() { printf >&2 'error: %s\n' "$*"; exit 1; }
# The init user's psql on the temporary server's socket, stopping at the first error.
run_sql() { PGHOST='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname "$POSTGRES_DB"; }
HELP_OPTIONS="-? --help --describe-config -V --version"
# shellcheck source=entrypoint-common.sh disable=SC1091 # (followed with -x)
. /usr/local/bin/docker-entrypoint-common.sh

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_db_directories() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ "$(id -u)" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOE'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
		EOE
		exit 1
	fi
}

init_database_dir() {
	# initdb reads the password from a file; bash's <(...) is not POSIX, so a private temp file.
	pwdir=$(mktemp -d)
	printf '%s\n' "$POSTGRES_PASSWORD" > "$pwdir/pw"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
	initdb --username="$POSTGRES_USER" --pwfile="$pwdir/pw" $POSTGRES_INITDB_ARGS || { rm -rf "$pwdir"; exit 1; }
	rm -rf "$pwdir"
}

setup_hba_conf() {
	auth=$(postgres -C password_encryption)
	: "${POSTGRES_HOST_AUTH_METHOD:=$auth}"
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"
}

temp_server_start() {
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

setup_db() {
	exists=$(PGHOST='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname postgres \
		--set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)
	if [ -z "$exists" ]; then
		PGHOST='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname postgres \
			--set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
}

main() {
	case "${1:-}" in
		-*) set -- postgres "$@" ;;
	esac
	if [ "${1:-}" = postgres ] && ! wants_help "$HELP_OPTIONS" "$@"; then
		setup_env
		create_db_directories
		if [ "$(id -u)" = 0 ]; then
			# gosu in the official image: the user's uid, gid and groups, and HOME.
			HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
		fi
		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			ls /docker-entrypoint-initdb.d/ > /dev/null
			init_database_dir
			setup_hba_conf
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start
			setup_db
			process_init_files
			temp_server_stop
			unset PGPASSWORD
			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		else
			printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
		fi
	fi
	exec "$@"
}

main "$@"
