#!/usr/bin/env bash
# A whole cluster on one machine: a MongoDB wire server, two origins, two
# edges and a balancer that listens where a single node would (RTMP 1935,
# HTTP 5080 on 127.0.0.1), so a client cannot tell it from a node.
#
#   examples/cluster/local.sh start    build if needed, start everything
#   examples/cluster/local.sh status   each node's role, group, addresses
#   examples/cluster/local.sh stop
#
# Each node has its own loopback address (Linux routes all of 127/8 to
# lo) with the usual ports, its own prefix under $AMS_CLUSTER_PREFIX
# (build/cluster), and a heartbeat period of 1 s.  The wire server is the
# pure-JS one the tests use (t/mongo); production runs real MongoDB
# (README, "Cluster").
#
# AMS_CLUSTER_BIND (127.0.0.1), AMS_CLUSTER_HTTP (5080), AMS_CLUSTER_RTMP
# (1935) and AMS_CLUSTER_RTMP_PLAY (1936) move the balancer,
# AMS_CLUSTER_NODE_HTTP and _NODE_RTMP the nodes, AMS_MONGO_PORT the wire
# server;
# AMS_MONGO_URI uses a MongoDB of your own instead of the wire server;
# AMS_CLUSTER_BALANCER=static starts plain nginx as the balancer.
# WebRTC: node N (0, 1, ... in the list below) takes media on UDP ports
# AMS_CLUSTER_WEBRTC_PORT (50000) + 10 N + its worker's number, and its
# answers name its own address.  AMS_CLUSTER_WORKERS (2): workers per
# node; AMS_CLUSTER_NODES: another list of nodes (the format below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/examples/cluster"
PREFIX=$(realpath -m "${AMS_CLUSTER_PREFIX:-$ROOT/build/cluster}")
MODULES=${AMS_MODULES:-$ROOT/build/modules}
BIND=${AMS_CLUSTER_BIND:-127.0.0.1}
HTTP=${AMS_CLUSTER_HTTP:-5080}
RTMP=${AMS_CLUSTER_RTMP:-1935}
RTMP_PLAY=${AMS_CLUSTER_RTMP_PLAY:-1936}
NODE_HTTP=${AMS_CLUSTER_NODE_HTTP:-5080}
NODE_RTMP=${AMS_CLUSTER_NODE_RTMP:-1935}
MONGO_PORT=${AMS_MONGO_PORT:-27017}
PERIOD=${AMS_CLUSTER_PERIOD:-1s}
# every node of this cluster sees the same machine's CPU: the CPU limit
# that would refuse publishers is off unless asked for
CPU_LIMIT=${AMS_CLUSTER_CPU_LIMIT:-100}
WEBRTC_PORT=${AMS_CLUSTER_WEBRTC_PORT:-50000}
WORKERS=${AMS_CLUSTER_WORKERS:-2}

# name role address group
NODES=${AMS_CLUSTER_NODES:-"origin1 origin 127.0.0.11 default
origin2 origin 127.0.0.12 default
edge1 edge 127.0.0.21 default
edge2 edge 127.0.0.22 default"}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

database() {
    echo "${AMS_MONGO_URI:-mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=2000}"
}

# the cluster's shared secret, made once and kept with the cluster
cluster_key() {
    local f="$PREFIX/cluster.key"
    if [ ! -s "$f" ]; then
        mkdir -p "$PREFIX"
        (umask 077; openssl rand -hex 32 >"$f")
    fi
    cat "$f"
}

render() {   # template prefix address group index
    local dir=$2 conf=$2/nginx.conf
    mkdir -p "$dir/logs" "$dir/media" "$dir/temp" "$dir/cache" "$dir/data"
    chmod 0777 "$dir/media" "$dir/cache"
    sed -e "s#@MODULES@#$MODULES#g" -e "s#@PREFIX@#$dir#g" \
        -e "s#@CONF_DIR@#$dir#g" -e "s#@NODE_ADDRESS@#$3#g" \
        -e "s#@NODE_GROUP@#$4#g" -e "s#@HTTP_PORT@#$NODE_HTTP#g" \
        -e "s#@RTMP_PORT@#$NODE_RTMP#g" -e "s#@PERIOD@#$PERIOD#g" \
        -e "s#@CPU_LIMIT@#$CPU_LIMIT#g" -e "s#@WORKERS@#$WORKERS#g" \
        -e "s#@WEBRTC_PORT@#$((WEBRTC_PORT + 10 * $5))#g" \
        -e "s#@DATABASE@#$(database)#g" -e "s#@CLUSTER_KEY@#$(cluster_key)#g" \
        "$HERE/$1" >"$conf"
    cp "$HERE/cluster-hls.conf" "$dir/"
}

# the balancer: nginx-ams's own upstream (balancer-ams.conf), or plain
# nginx with static upstreams (balancer.conf) when AMS_CLUSTER_BALANCER
# is "static"
render_balancer() {
    local dir=$PREFIX/balancer origins= origins_http= edges_rtmp= edges_http=
    local name role addr group
    mkdir -p "$dir/logs" "$dir/temp" "$dir/media"
    if [ "${AMS_CLUSTER_BALANCER:-ams}" != static ]; then
        sed -e "s#@MODULES@#$MODULES#g" -e "s#@PREFIX@#$dir#g" \
            -e "s#@LISTEN@#$BIND#g" -e "s#@HTTP_PORT@#$HTTP#g" \
            -e "s#@RTMP_PORT@#$RTMP#g" -e "s#@RTMP_PLAY_PORT@#$RTMP_PLAY#g" \
            -e "s#@PERIOD@#$PERIOD#g" -e "s#@DATABASE@#$(database)#g" \
            "$HERE/balancer-ams.conf" >"$dir/nginx.conf"
        return 0
    fi
    while read -r name role addr group; do
        if [ "$role" = origin ]; then
            origins+="        server $addr:$NODE_RTMP max_fails=1 fail_timeout=2s;\\n"
            origins_http+="        server $addr:$NODE_HTTP max_fails=1 fail_timeout=2s;\\n"
        else
            edges_rtmp+="        server $addr:$NODE_RTMP max_fails=1 fail_timeout=2s;\\n"
            edges_http+="        server $addr:$NODE_HTTP max_fails=1 fail_timeout=2s;\\n"
        fi
    done <<<"$NODES"
    sed -e "s#@PREFIX@#$dir#g" -e "s#@LISTEN@#$BIND#g" \
        -e "s#@HTTP_PORT@#$HTTP#g" -e "s#@RTMP_PORT@#$RTMP#g" \
        -e "s#@RTMP_PLAY_PORT@#$RTMP_PLAY#g" \
        -e "s#^@ORIGINS_RTMP@#${origins%\\n}#" \
        -e "s#^@EDGES_RTMP@#${edges_rtmp%\\n}#" \
        -e "s#^@EDGES_HTTP@#${edges_http%\\n}#" \
        -e "s#^@ORIGINS_HTTP@#${origins_http%\\n}#" \
        "$HERE/balancer.conf" >"$dir/nginx.conf"
}

master_pid() {   # prefix
    local p
    p=$(cat "$1/nginx.pid" 2>/dev/null) || return 1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

nginx_start() {   # prefix
    master_pid "$1" >/dev/null && return 0
    # AMS_PRELOAD: the sanitizer's runtime, for modules built with
    # AMS_ASAN=1 (the test suite's second run)
    LD_PRELOAD=${AMS_PRELOAD:-} nginx -p "$1/" -c "$1/nginx.conf" \
        -e "$1/logs/error.log"
}

mongo_start() {
    [ -z "${AMS_MONGO_URI:-}" ] || return 0
    local pidf=$PREFIX/mongo.pid
    if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        return 0
    fi
    [ -d "$ROOT/t/mongo/node_modules/@push.rocks/smartmongo" ] \
        || (cd "$ROOT/t/mongo" && npm ci --silent --ignore-scripts --no-audit --no-fund)
    log "MongoDB wire server on 127.0.0.1:$MONGO_PORT (memory only)"
    setsid node "$ROOT/t/mongo/server.mjs" "$MONGO_PORT" 127.0.0.1 \
        >"$PREFIX/mongo.log" 2>&1 </dev/null &
    echo $! >"$pidf"
    for _ in $(seq 50); do
        grep -q ready "$PREFIX/mongo.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the wire server did not start: $PREFIX/mongo.log" >&2
    exit 1
}

start() {
    [ -e "$MODULES/ngx_ams_cluster_module.so" ] || "$ROOT/build.sh"
    mkdir -p "$PREFIX"
    mongo_start
    local name role addr group i=0
    while read -r name role addr group; do
        render "$role.conf" "$PREFIX/$name" "$addr" "$group" "$i"
        nginx_start "$PREFIX/$name"
        i=$((i + 1))
    done <<<"$NODES"
    render_balancer
    nginx_start "$PREFIX/balancer"
    status
}

stop() {
    local d p pids=()
    for d in "$PREFIX"/*/; do
        d=${d%/}
        p=$(master_pid "$d") || continue
        kill -QUIT "$p"
        pids+=("$p")
    done
    # a graceful stop: each node marks itself stopped in the store first
    for p in "${pids[@]}"; do
        for _ in $(seq 150); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
    done
    if [ -s "$PREFIX/mongo.pid" ]; then
        kill "$(cat "$PREFIX/mongo.pid")" 2>/dev/null || true
        rm -f "$PREFIX/mongo.pid"
    fi
    log "stopped"
}

status() {
    local name role addr group state
    printf '%-9s %-8s %-8s %-22s %-22s %s\n' NODE ROLE GROUP RTMP HTTP STATE
    while read -r name role addr group; do
        state=stopped
        master_pid "$PREFIX/$name" >/dev/null && state=running
        printf '%-9s %-8s %-8s %-22s %-22s %s\n' "$name" "$role" "$group" \
            "$addr:$NODE_RTMP" "$addr:$NODE_HTTP" "$state"
    done <<<"$NODES"
    state=stopped
    master_pid "$PREFIX/balancer" >/dev/null && state=running
    printf '%-9s %-8s %-8s %-22s %-22s %s\n' balancer - - \
        "$BIND:$RTMP,$RTMP_PLAY" "$BIND:$HTTP" "$state"
    state=stopped
    [ -s "$PREFIX/mongo.pid" ] && kill -0 "$(cat "$PREFIX/mongo.pid")" 2>/dev/null \
        && state=running
    [ -n "${AMS_MONGO_URI:-}" ] && state="external: $AMS_MONGO_URI"
    printf '%-9s %-8s %-8s %-22s %-22s %s\n' mongodb - - - \
        "127.0.0.1:$MONGO_PORT" "$state"
    # what the cluster itself says (through the balancer)
    local nodes
    if nodes=$(curl -sf --max-time 2 "http://$BIND:$HTTP/rest/v2/cluster/nodes/0/50"); then
        echo "cluster: $(echo "$nodes" | grep -o '"status":"ALIVE"' | wc -l) ALIVE," \
            "$(echo "$nodes" | grep -o '"status":"DEAD"' | wc -l) DEAD in the store"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
