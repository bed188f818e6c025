#!/bin/bash
# The image's HEALTHCHECK: a node answers GET /rest/v2/liveness with 200;
# a balancer (whose HTTP port is its edges') accepts a connection.  Bash's
# /dev/tcp, so the image needs no HTTP client.
set -u
exec 3<>/dev/tcp/127.0.0.1/5080 || exit 1
[ "${AMS_ROLE:-standalone}" = balancer ] && exit 0
printf 'GET /rest/v2/liveness HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 3 _ status _ <&3 || exit 1
[ "$status" = 200 ]
