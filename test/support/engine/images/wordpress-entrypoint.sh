#!/bin/sh
# Entrypoint of the wordpress stand-in image (test/support/engine/database-images.ts).
# NOT WordPress: the image holds a small PHP-shaped tree in /usr/src/wordpress and serves files
# with busybox httpd. What it does the way the official wordpress:6.7-apache entrypoint does
# (docker-library/wordpress docker-entrypoint.sh, behaviour rewritten here in POSIX sh):
# - only when the command is apache2* or php-fpm; as root the files go to www-data
#   (APACHE_RUN_USER/APACHE_RUN_GROUP, default www-data), otherwise to the current uid/gid;
# - when neither index.php nor wp-includes/version.php is in the working folder (/var/www/html):
#   a root-owned folder is first given to that user; the tree is copied in with GNU tar,
#   every entry owned by that user, except what already exists under wp-content/*/*;
# - when wp-config.php is missing and any WORDPRESS_* variable is set: wp-config-docker.php is
#   copied to wp-config.php with fresh random keys and salts, owned by that user;
# - then exec the command.
set -eu

case "${1:-}" in
	apache2* | php-fpm)
		if [ "$(id -u)" = 0 ]; then
			user=${APACHE_RUN_USER:-www-data}
			group=${APACHE_RUN_GROUP:-www-data}
			user=${user#'#'}
			group=${group#'#'}
		else
			user=$(id -u)
			group=$(id -g)
		fi

		if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
			if [ "$(id -u)" = 0 ] && [ "$(stat -c '%u:%g' .)" = 0:0 ]; then
				chown "$user:$group" .
			fi
			echo >&2 "WordPress not found in $PWD - copying now..."
			if [ -n "$(find . -mindepth 1 -maxdepth 1 -not -name wp-content)" ]; then
				echo >&2 "WARNING: $PWD is not empty! (copying anyhow)"
			fi
			# what already exists under wp-content/*/* (a plugin or theme kept on the volume) stays
			excludes=
			for content in /usr/src/wordpress/wp-content/*/*/; do
				content=${content%/}
				[ -d "$content" ] || continue
				rel=${content#/usr/src/wordpress/}
				if [ -d "$PWD/$rel" ]; then
					echo >&2 "WARNING: '$PWD/$rel' exists! (not copying the WordPress version)"
					excludes="$excludes --exclude ./$rel"
				fi
			done
			extract_args=
			if [ "$(id -u)" != 0 ]; then
				extract_args=--no-overwrite-dir
			fi
			# shellcheck disable=SC2086 # excludes and extract_args are words without blanks
			tar --create --file - --directory /usr/src/wordpress --owner "$user" --group "$group" $excludes . \
				| tar --extract --file - $extract_args
			echo >&2 "Complete! WordPress has been successfully copied to $PWD"
		fi

		if [ ! -s wp-config.php ] && env | grep -q '^WORDPRESS_'; then
			for unique in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
				salt=$(head -c 1048576 /dev/urandom | sha1sum | cut -d' ' -f1)
				printf "s/'%s', *'put your unique phrase here'/'%s', '%s'/\n" "$unique" "$unique" "$salt"
			done > /tmp/wp-salts.sed
			sed -f /tmp/wp-salts.sed /usr/src/wordpress/wp-config-docker.php > wp-config.php
			rm -f /tmp/wp-salts.sed
			if [ "$(id -u)" = 0 ]; then
				chown "$user:$group" wp-config.php || true
			fi
		fi
		;;
esac

exec "$@"
