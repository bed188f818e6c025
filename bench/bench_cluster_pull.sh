#!/usr/bin/env bash
# Pull start: the first RTMP play of a stream on an edge (which locates
# the stream's origin, pulls it over RTMP and relays it) until the player
# has its first video frame, against the same play straight from the
# origin.  An origin and an edge on one machine (127.0.0.51, 127.0.0.52,
# a shared SQLite store, node_update_period 1s), ffmpeg replaying the
# 720p30 FLV of bench_rtmp.sh into the origin.  The player is ffmpeg
# decoding one video frame (-frames:v 1, probing cut to the minimum): its
# own start-up is in both figures, so the difference is what the pull
# costs.  Between runs the edge's pull is let go (relay_release_time
# 500ms), so every edge play is a first one.
#
# BENCH_REPEAT (default 7) runs of each, alternating; medians.  The goal
# (issue 9): under 300 ms more than from the origin.  Benchmarks are not
# tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
REPEAT=${BENCH_REPEAT:-7}
BASE=${BENCH_PREFIX:-$OUT/cluster-pull}
KEY=bench-cluster-key-0123456789abcdef0123456789
ORIGIN=127.0.0.51
EDGE=127.0.0.52
RTMP_O=19391
RTMP_E=19392
HTTP_O=15091
HTTP_E=15092

mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_input_flv 300

rm -rf "$BASE"
mkdir -p "$BASE/db"
chmod 0777 "$BASE/db"

node_conf() {   # PREFIX ADDRESS ROLE RTMP HTTP
    local p=$1
    mkdir -p "$p/media" "$p/temp"
    chmod 0777 "$p/media"
    cat >"$p/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module $MODULES/ngx_ams_core_module.so;
load_module $MODULES/ngx_ams_ingest_module.so;
load_module $MODULES/ngx_ams_packager_module.so;
load_module $MODULES/ngx_ams_api_module.so;
load_module $MODULES/ngx_ams_cluster_module.so;
worker_processes  2;
pid               $p/nginx.pid;
error_log         $p/error.log info;
events { worker_connections 1024; }
thread_pool ams threads=2;
ams {
    storage        $p/media;
    database       sqlite:$BASE/db/ams.db;
    thread_pool    ams;
    cpu_limit      100;
    memory_limit   100;
    node_address               $2;
    node_role                  $3;
    node_update_period         1s;
    node_rtmp_port             $4;
    node_http_port             $5;
    cluster_communication_key  $KEY;
    relay_release_time         500ms;
    application LiveApp { hls off; }
}
stream { server { listen $2:$4; ams_rtmp; } }
http {
    access_log  off;
    client_body_temp_path  $p/temp/body;
    proxy_temp_path        $p/temp/proxy;
    fastcgi_temp_path      $p/temp/fastcgi;
    uwsgi_temp_path        $p/temp/uwsgi;
    scgi_temp_path         $p/temp/scgi;
    server {
        listen 127.0.0.1:$5;
        location ~ ^/[^/]+/rest/ { ams_rest; }
        location /rest/ { ams_rest; }
    }
}
CONF
}

node_conf "$BASE/origin" $ORIGIN origin $RTMP_O $HTTP_O
node_conf "$BASE/edge" $EDGE edge $RTMP_E $HTTP_E
bench_start "$BASE/origin"
bench_start "$BASE/edge"

PUB=
cleanup() {
    [ -n "$PUB" ] && kill "$PUB" 2>/dev/null
    bench_stop "$BASE/edge"
    bench_stop "$BASE/origin"
}
trap cleanup EXIT

ffmpeg -v error -nostdin -re -stream_loop -1 -i "$INPUT" -c copy -f flv \
    "rtmp://$ORIGIN:$RTMP_O/LiveApp/bench" >/dev/null 2>&1 &
PUB=$!

# the edge sees the origin ALIVE and the stream broadcasting
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$HTTP_E/LiveApp/rest/v2/broadcasts/bench" \
        | grep -q '"status":"broadcasting"' \
        && curl -s "http://127.0.0.1:$HTTP_E/rest/v2/cluster/nodes/0/10" \
        | grep -q '"status":"ALIVE"' && break
    sleep 0.2
done
sleep 2

# ms from start to the first decoded video frame
first_frame_ms() {
    local t0 t1
    t0=$(date +%s%N)
    timeout 20 ffmpeg -v error -nostdin -probesize 32 -analyzeduration 0 \
        -i "$1" -an -frames:v 1 -f null - >/dev/null 2>&1 || echo "fail" >&2
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

released() {   # the edge's pulls so far, all ended
    local started ended
    started=$(grep -c 'ams rtmp pull: "LiveApp/bench" from' \
        "$BASE/edge/error.log" || true)
    ended=$(grep -c 'ams rtmp pull: "LiveApp/bench" from .* ended' \
        "$BASE/edge/error.log" || true)
    [ "$started" -eq $((ended * 2)) ]
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$OUT/cluster-pull-origin.txt"
: >"$OUT/cluster-pull-edge.txt"
for i in $(seq "$REPEAT"); do
    first_frame_ms "rtmp://$ORIGIN:$RTMP_O/LiveApp/bench" \
        >>"$OUT/cluster-pull-origin.txt"
    for _ in $(seq 50); do released && break; sleep 0.1; done
    first_frame_ms "rtmp://$EDGE:$RTMP_E/LiveApp/bench" \
        >>"$OUT/cluster-pull-edge.txt"
    sleep 1
done

o=$(median <"$OUT/cluster-pull-origin.txt")
e=$(median <"$OUT/cluster-pull-edge.txt")
pulls=$(grep -c 'ams rtmp pull: "LiveApp/bench" from' "$BASE/edge/error.log" \
    || true)
inner=$(grep -o 'bench" first frame after [0-9]* ms' "$BASE/edge/error.log" \
    | grep -o '[0-9]* ms' | tr -d ' ms' | median)

echo "runs                          $REPEAT (each: origin, then a first play on the edge)"
echo "origin first frame ms         $o   ($(tr '\n' ' ' <"$OUT/cluster-pull-origin.txt"))"
echo "edge first frame ms           $e   ($(tr '\n' ' ' <"$OUT/cluster-pull-edge.txt"))"
echo "edge - origin ms              $((e - o))"
echo "edge / origin                 $(awk -v e="$e" -v o="$o" 'BEGIN { printf "%.2f", e / o }')"
echo "pull start -> first frame ms  ${inner:-?} (the edge's log, median)"
echo "pull log lines                $pulls"
