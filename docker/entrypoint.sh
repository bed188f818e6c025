#!/bin/bash
# The container's entrypoint: renders nginx.conf from the environment (the
# templates are examples/'s, with the container's paths), then runs nginx
# in the foreground as this process, so SIGQUIT reaches its master.
#
#   ams-entrypoint          render, then run nginx
#   ams-entrypoint check    render, then nginx -t (the image's build runs it)
#   ams-entrypoint CMD...   render, then run CMD (a shell, say)
#
# Environment (README, "Container"):
#   AMS_ROLE            standalone (default), origin, edge or balancer
#   AMS_MONGODB_URI     the cluster's MongoDB (origin, edge, balancer)
#   AMS_CLUSTER_KEY     the cluster's shared secret (origin, edge)
#   AMS_NODE_GROUP      node group, "default"
#   AMS_NODE_ADDRESS    the address other nodes reach this one at
#                       (default: this container's first IPv4)
#   AMS_PUBLIC_ADDRESS  the address WebRTC viewers reach (AMS_NODE_ADDRESS)
#   AMS_CPU_LIMIT, AMS_MEMORY_LIMIT   admission limits in %, 75
#   AMS_WORKERS         worker processes (default: the CPUs this container
#                       may use, from its cgroup quota)
#   AMS_HEARTBEAT       a cluster node's heartbeat period, 5s
#   AMS_WEBRTC_PORT     the first WebRTC UDP port, 50000 (+ worker number)
#   AMS_ALLOWED_CIDR    who reaches the REST API and /metrics without a JWT,
#                       "127.0.0.1 ::1" (Prometheus's network, to scrape)
#   AMS_CONFIG          an nginx.conf of your own: used as it is
set -euo pipefail

PREFIX=/var/lib/nginx-ams
TEMPLATES=/etc/nginx-ams/templates
TLS=/etc/nginx-ams/tls
CONF_DIR=$PREFIX/conf

ROLE=${AMS_ROLE:-standalone}
GROUP=${AMS_NODE_GROUP:-default}
CPU_LIMIT=${AMS_CPU_LIMIT:-75}
MEMORY_LIMIT=${AMS_MEMORY_LIMIT:-75}
HEARTBEAT=${AMS_HEARTBEAT:-5s}
WEBRTC_PORT=${AMS_WEBRTC_PORT:-50000}
ALLOWED=${AMS_ALLOWED_CIDR:-127.0.0.1 ::1}

die() {
    echo "ams-entrypoint: $*" >&2
    exit 1
}

# A value goes into nginx.conf as one token: a quote, a brace or a
# semicolon would end it and let the environment write directives.
token() {   # name value
    [[ $2 =~ ^[A-Za-z0-9._:/?=\&%@+,-]+$ ]] \
        || die "$1 must be one word of letters, digits and ._:/?=&%@+,- (got '$2')"
}

# The CPUs the cgroup lets this container use (its quota), else all of
# them: nginx's "auto" counts the host's, far too many workers under a
# limit of two CPUs on a large host.
cpus() {
    local quota period n
    if [ -r /sys/fs/cgroup/cpu.max ]; then
        read -r quota period </sys/fs/cgroup/cpu.max
    elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
        period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    fi
    n=$(nproc)
    if [[ ${quota:-max} =~ ^[0-9]+$ ]] && ((quota > 0 && period > 0)); then
        quota=$(((quota + period - 1) / period))
        ((quota < n)) && n=$quota
    fi
    echo "$n"
}

address() {
    local a
    a=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' || true)
    echo "${a:-127.0.0.1}"
}

# the template's @...@ filled in, the container's own changes made:
# logs to stderr/stdout, every listen on all addresses
render() {   # template output
    sed -e "s#@MODULES@#/usr/lib/nginx/modules#g" \
        -e "s#@PREFIX@/logs/error.log#stderr#g" \
        -e "s#@PREFIX@/logs/access.log#/dev/stdout#g" \
        -e "s#@PREFIX@#$PREFIX#g" -e "s#@CONF_DIR@#$CONF_DIR#g" \
        -e "s#@WWW@#/usr/share/nginx-ams/www#g" \
        -e "s#listen\( *\)@NODE_ADDRESS@:#listen\1#" \
        -e "s#listen\( *\)@LISTEN@:#listen\1#" \
        -e "s#webrtc_public_address\( *\)@NODE_ADDRESS@#webrtc_public_address\1$PUBLIC#" \
        -e "s#@NODE_ADDRESS@#$NODE#g" -e "s#@LISTEN@#$NODE#g" \
        -e "s#@NODE_GROUP@#$GROUP#g" -e "s#@HTTP_PORT@#5080#g" \
        -e "s#@RTMP_PORT@#1935#g" -e "s#@RTMP_PLAY_PORT@#1936#g" \
        -e "s#@PERIOD@#$HEARTBEAT#g" -e "s#@WORKERS@#$WORKERS#g" \
        -e "s#@CPU_LIMIT@#$CPU_LIMIT#g" -e "s#@WEBRTC_PORT@#$WEBRTC_PORT#g" \
        -e "s#@DATABASE@#${AMS_MONGODB_URI:-}#g" \
        -e "s#@CLUSTER_KEY@#${AMS_CLUSTER_KEY:-}#g" \
        -e "s#^\( *worker_processes  *\)auto;#\1$WORKERS;#" \
        -e "s#^\( *cpu_limit  *\)75;#\1$CPU_LIMIT;#" \
        -e "s#^\( *memory_limit  *\)75;#\1$MEMORY_LIMIT;#" \
        "$TEMPLATES/$1" >"$2"
}

# The probes' endpoint answers anyone (it tells only "ok" and the host
# name); the rest of the REST API and /metrics answer AMS_ALLOWED_CIDR.
open_liveness() {   # conf
    sed -i -e "s#ams_remote_allowed_cidr  127.0.0.1 ::1;   \# + the balancer's#ams_remote_allowed_cidr  all;#" "$1"
    sed -i -e "0,/^http {/s##http {\n    ams_remote_allowed_cidr  $ALLOWED;#" "$1"
}

# HTTPS on 5443 and RTMPS on 8443 when a certificate is mounted
# (standalone; a cluster terminates TLS at its balancer or ingress)
tls_servers() {   # conf
    [ -r "$TLS/tls.crt" ] && [ -r "$TLS/tls.key" ] || return 0
    sed -i -e "0,/^stream {/s##stream {\n    server {\n        listen               8443 ssl;\n        ssl_certificate      $TLS/tls.crt;\n        ssl_certificate_key  $TLS/tls.key;\n        ams_rtmp;\n    }#" "$1"
    sed -i -e "0,/^http {/s##http {\n    server {\n        listen               5443 ssl;\n        ssl_certificate      $TLS/tls.crt;\n        ssl_certificate_key  $TLS/tls.key;\n        include              ams_media.conf;\n        location ~ ^/[^/]+/(whip|whep)/ {\n            ams_webrtc  on;\n        }\n        location ~ ^/[^/]+/websocket\$ {\n            ams_webrtc  on;\n        }\n    }#" "$1"
}

configure() {
    local conf=$CONF_DIR/nginx.conf
    mkdir -p "$CONF_DIR" "$PREFIX/media" "$PREFIX/data" "$PREFIX/temp" \
        "$PREFIX/cache" "$PREFIX/logs"

    NODE=${AMS_NODE_ADDRESS:-$(address)}
    PUBLIC=${AMS_PUBLIC_ADDRESS:-$NODE}
    WORKERS=${AMS_WORKERS:-$(cpus)}
    token AMS_ROLE "$ROLE"
    token AMS_NODE_GROUP "$GROUP"
    token AMS_CPU_LIMIT "$CPU_LIMIT"
    token AMS_MEMORY_LIMIT "$MEMORY_LIMIT"
    token AMS_HEARTBEAT "$HEARTBEAT"
    token AMS_WEBRTC_PORT "$WEBRTC_PORT"
    token AMS_NODE_ADDRESS "$NODE"
    token AMS_PUBLIC_ADDRESS "$PUBLIC"
    token AMS_WORKERS "$WORKERS"
    for v in $ALLOWED; do
        token AMS_ALLOWED_CIDR "$v"
    done

    case $ROLE in
    standalone)
        render standalone.conf "$conf"
        render ams_media.conf "$CONF_DIR/ams_media.conf"
        # the probes' endpoint, inside the server that includes this file
        printf '\nlocation = /rest/v2/liveness {\n    ams_remote_allowed_cidr  all;\n    ams_rest;\n}\n' \
            >>"$CONF_DIR/ams_media.conf"
        [ -z "${AMS_PUBLIC_ADDRESS:-}" ] \
            || sed -i "s|^    # webrtc_public_address .*|    webrtc_public_address        $PUBLIC;|" "$conf"
        tls_servers "$conf"
        ;;
    origin | edge)
        [ -n "${AMS_MONGODB_URI:-}" ] || die "AMS_ROLE=$ROLE needs AMS_MONGODB_URI"
        [ -n "${AMS_CLUSTER_KEY:-}" ] || die "AMS_ROLE=$ROLE needs AMS_CLUSTER_KEY (the same on every node)"
        token AMS_MONGODB_URI "$AMS_MONGODB_URI"
        token AMS_CLUSTER_KEY "$AMS_CLUSTER_KEY"
        render "$ROLE.conf" "$conf"
        render cluster-hls.conf "$CONF_DIR/cluster-hls.conf"
        ;;
    balancer)
        [ -n "${AMS_MONGODB_URI:-}" ] || die "AMS_ROLE=balancer needs AMS_MONGODB_URI"
        token AMS_MONGODB_URI "$AMS_MONGODB_URI"
        render balancer-ams.conf "$conf"
        sed -i "s#^worker_processes .*#worker_processes  $WORKERS;#" "$conf"
        ;;
    *)
        die "AMS_ROLE must be standalone, origin, edge or balancer (got '$ROLE')"
        ;;
    esac
    [ "$ROLE" = balancer ] || open_liveness "$conf"
    CONF=$conf
}

if [ -n "${AMS_CONFIG:-}" ]; then
    [ -r "$AMS_CONFIG" ] || die "AMS_CONFIG=$AMS_CONFIG cannot be read"
    mkdir -p "$PREFIX/logs"
    CONF=$AMS_CONFIG
else
    configure
fi

NGX=(nginx -p "$PREFIX/" -c "$CONF" -e stderr)
case ${1:-} in
'')
    echo "ams-entrypoint: $ROLE node, nginx -c $CONF" >&2
    exec "${NGX[@]}" -g 'daemon off;'
    ;;
check)
    exec "${NGX[@]}" -t
    ;;
*)
    exec "$@"
    ;;
esac
