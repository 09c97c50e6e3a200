#!/bin/sh
# Entrypoint of the mariadb stand-in image (test/support/engine/database-images.ts).
#
# Written for this project after the behaviour of MariaDB/mariadb-docker's docker-entrypoint.sh
# (11.4), in POSIX sh (the stand-in runs it with dash, Debian's /bin/sh), reduced to what the
# tests rely on:
# - started as root with `mariadbd` (or `mysqld`) as the command: read datadir, socket and port
#   from `mariadbd --verbose --help`, give what is not the mysql user's in the datadir and the
#   socket folder to mysql, then re-run this script as mysql (uid 999) — gosu in the official
#   image, util-linux's setpriv here;
# - first start (no <datadir>/mysql): refuse without MARIADB_ROOT_PASSWORD,
#   MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD (each also as MYSQL_*, and
#   as *_FILE); mariadb-install-db with root@localhost authenticated by password
#   (--auth-root-authentication-method=normal: no unix_socket login for root, as officially);
#   a temporary server without networking; time zones; root@localhost's password, root@'%'
#   (MARIADB_ROOT_HOST, default %), the healthcheck users and <datadir>/.my-healthcheck.cnf;
#   MARIADB_DATABASE, MARIADB_USER/MARIADB_PASSWORD with all rights on that database;
#   /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sh; the temporary server stopped;
# - then exec the command (mariadbd, as mysql).
# Not here: the upgrade path (mariadb-upgrade on a datadir of an older version), replication
# variables, *_PASSWORD_HASH, restoring from a mariadb-backup tarball.
set -eu

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S+00:00')" "$*"; }
fail() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S+00:00')" "$*" >&2; exit 1; }
# The init files' SQL goes to the temporary server as root (client, below).
run_sql() { client; }
HELP_OPTIONS="-? --help --print-defaults -V --version"
# shellcheck source=entrypoint-common.sh disable=SC1091 # (followed with -x)
. /usr/local/bin/docker-entrypoint-common.sh

# mariadb_file_env MYSQL_X [DEFAULT]: MARIADB_X wins over MYSQL_X; both end up the same.
mariadb_file_env() {
	mysql_var=$1
	maria_var="MARIADB_${mysql_var#MYSQL_}"
	file_env "$mysql_var" "${2:-}"
	mysql_val=
	eval "mysql_val=\$$mysql_var"
	file_env "$maria_var" "$mysql_val"
	eval "maria_val=\$$maria_var"
	if [ -n "$maria_val" ]; then
		export "$mysql_var=$maria_val"
	fi
}

# get_config NAME CMD...: the value mariadbd would use (defaults and config files).
get_config() {
	name=$1
	shift
	"$@" --verbose --help 2>/dev/null | awk -v conf="$name" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

setup_env() {
	DATADIR=$(get_config datadir "$@")
	SOCKET=$(get_config socket "$@")
	PORT=$(get_config port "$@")
	mariadb_file_env MYSQL_ROOT_HOST '%'
	mariadb_file_env MYSQL_DATABASE
	mariadb_file_env MYSQL_USER
	mariadb_file_env MYSQL_PASSWORD
	mariadb_file_env MYSQL_ROOT_PASSWORD
	: "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
	: "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
	: "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
	export MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MARIADB_RANDOM_ROOT_PASSWORD MARIADB_INITDB_SKIP_TZINFO
	DATABASE_ALREADY_EXISTS=
	if [ -d "$DATADIR/mysql" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_db_directories() {
	mkdir -p "$DATADIR"
	if [ "$(id -u)" = 0 ]; then
		find "$DATADIR" \! -user mysql -exec chown mysql: '{}' +
		find "${SOCKET%/*}" -maxdepth 0 \! -user mysql -exec chown mysql: '{}' \;
	fi
}

verify_minimum_env() {
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		fail 'Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
	fi
}

# sql_string VALUE: VALUE escaped for a single-quoted SQL string literal.
sql_string() {
	printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"
}

random_password() {
	tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32
}

# client [--no-root-password] ARGS...: the mariadb client on the temporary server's socket.
client() {
	pw=$MARIADB_ROOT_PASSWORD
	if [ "${1:-}" = --no-root-password ]; then
		pw=
		shift
	fi
	if [ -n "$MARIADB_DATABASE" ]; then
		set -- --database="$MARIADB_DATABASE" "$@"
	fi
	MYSQL_PWD=$pw mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"
}

temp_server_start() {
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --loose-wsrep_on=OFF \
		--expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 &
	MARIADB_PID=$!
	note 'Waiting for server startup'
	i=30
	while [ "$i" -gt 0 ]; do
		if echo 'SELECT 1' | client --no-root-password --database=mysql > /dev/null 2>&1; then
			return 0
		fi
		i=$((i - 1))
		sleep 1
	done
	fail 'Unable to start server.'
}

temp_server_stop() {
	kill "$MARIADB_PID"
	wait "$MARIADB_PID"
}

init_database_dir() {
	note 'Initializing database files'
	shift
	mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal "$@" \
		--skip-test-db --old-mode='UTF8_IS_UTF8MB3' --default-time-zone=SYSTEM --enforce-storage-engine= \
		--skip-log-bin --expire-logs-days=0 \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0
	note 'Database files initialized'
}

healthcheck_users() {
	hc_pw=$(random_password)
	for host in 127.0.0.1 ::1 localhost; do
		echo "CREATE USER IF NOT EXISTS healthcheck@'$host' IDENTIFIED BY '$hc_pw';"
		echo "SET PASSWORD FOR healthcheck@'$host' = PASSWORD('$hc_pw');"
		echo "GRANT USAGE ON *.* TO healthcheck@'$host';"
	done
	old_umask=$(umask)
	umask 0077
	printf '[mariadb-client]\nport=%s\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=tcp\n' \
		"$PORT" "$SOCKET" "$hc_pw" > "$DATADIR/.my-healthcheck.cnf"
	umask "$old_umask"
}

setup_db() {
	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ]; then
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | client --no-root-password --database=mysql
	fi
	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(random_password)
		export MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD="$MARIADB_ROOT_PASSWORD"
		note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi
	root_pw=$(sql_string "$MARIADB_ROOT_PASSWORD")
	root_create=
	if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
		root_create="CREATE USER 'root'@'$MARIADB_ROOT_HOST' IDENTIFIED BY '$root_pw';
GRANT ALL ON *.* TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
	fi
	create_database=
	if [ -n "$MARIADB_DATABASE" ]; then
		note "Creating database $MARIADB_DATABASE"
		create_database="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
	fi
	create_user=
	user_grants=
	if [ -n "$MARIADB_USER" ] && [ -n "$MARIADB_PASSWORD" ]; then
		note "Creating user $MARIADB_USER"
		create_user="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(sql_string "$MARIADB_PASSWORD")';"
		if [ -n "$MARIADB_DATABASE" ]; then
			note "Giving user $MARIADB_USER access to schema $MARIADB_DATABASE"
			escaped_db=$(printf '%s' "$MARIADB_DATABASE" | sed 's/_/\\_/g')
			user_grants="GRANT ALL ON \`$escaped_db\`.* TO '$MARIADB_USER'@'%';"
		fi
	fi
	note 'Securing system users (equivalent to running mysql_secure_installation)'
	client --no-root-password --database=mysql --binary-mode <<-EOSQL
		SET @orig_sql_log_bin= @@SESSION.SQL_LOG_BIN;
		SET @@SESSION.SQL_LOG_BIN=0;
		SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
		DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
		EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
		SET PASSWORD FOR 'root'@'localhost'= PASSWORD('${root_pw}');
		${root_create}
		$(healthcheck_users)
		SET @@SESSION.SQL_LOG_BIN=@orig_sql_log_bin;
		${create_database}
		${create_user}
		${user_grants}
	EOSQL
}

main() {
	case "${1:-}" in
		-*) set -- mariadbd "$@" ;;
	esac
	if { [ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ]; } && ! wants_help "$HELP_OPTIONS" "$@"; then
		note "Entrypoint script for MariaDB Server ${MARIADB_VERSION:-} started."
		if ! errors=$("$@" --verbose --help 2>&1 > /dev/null); then
			fail "mariadbd failed while attempting to check config: $errors"
		fi
		setup_env "$@"
		create_db_directories
		if [ "$(id -u)" = 0 ]; then
			note "Switching to dedicated user 'mysql'"
			HOME=/var/lib/mysql exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$0" "$@"
		fi
		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			ls /docker-entrypoint-initdb.d/ > /dev/null
			init_database_dir "$@"
			note 'Starting temporary server'
			temp_server_start "$@"
			note 'Temporary server started.'
			setup_db
			process_init_files
			note 'Stopping temporary server'
			temp_server_stop
			note 'Temporary server stopped'
			echo
			note 'MariaDB init process done. Ready for start up.'
			echo
		fi
	fi
	exec "$@"
}

main "$@"
