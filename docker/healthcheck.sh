#!/bin/bash
# The image's HEALTHCHECK: GET the daemon's admin endpoint and pass on HTTP 200 only
# (/healthz answers 503 while the daemon starts or drains). Bash's /dev/tcp, so the runtime
# image needs no HTTP client.
#   SWITCHYARD_ADMIN_ADDR  host:port of `metrics.listen` (default 127.0.0.1:9464)
#   SWITCHYARD_HEALTH_PATH the path to ask (default /healthz)
set -u
addr=${SWITCHYARD_ADMIN_ADDR:-127.0.0.1:9464}
path=${SWITCHYARD_HEALTH_PATH:-/healthz}
host=${addr%:*}
port=${addr##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&3
IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
[ "$status" = 200 ] || { echo "GET $path: HTTP $status" >&2; exit 1; }
echo "GET $path: HTTP 200"
