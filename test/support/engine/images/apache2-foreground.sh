#!/bin/sh
# apache2-foreground of the wordpress stand-in image: NOT Apache, and no PHP. busybox httpd
# serves /var/www/html on port 80 as www-data (files as they are: a .php file comes back as
# text), so the container runs and answers HTTP like the official one. The official image's
# STOPSIGNAL is SIGWINCH (Apache's graceful stop); busybox httpd ignores SIGWINCH, so this
# shell stays the container's first process and turns SIGWINCH, SIGTERM and SIGINT into a
# SIGTERM for httpd: `docker stop` ends the container at once, as it does the official one.
set -eu
busybox httpd -f -p 80 -h /var/www/html -u "${APACHE_RUN_USER:-www-data}:${APACHE_RUN_GROUP:-www-data}" &
httpd=$!
trap 'kill -TERM "$httpd" 2>/dev/null || :' WINCH TERM INT
status=0
wait "$httpd" || status=$?
# a trapped signal interrupts wait before httpd has gone: wait for it once more
wait "$httpd" 2>/dev/null || :
exit "$status"
