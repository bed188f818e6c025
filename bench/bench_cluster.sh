#!/usr/bin/env bash
# The cluster's figures (issue 9), on the local cluster of
# examples/cluster/local.sh (MongoDB wire server, two origins, two edges,
# a balancer, heartbeat 1 s), each beside a named peer measured in the
# same run:
#
#  1. Store load: 1,000 simulated nodes heartbeating every 5 s plus 100
#     stream lookups a second (bench/ams_mongo_load.c, libmongoc) against
#     the wire server: operations a second, latencies, the wire server's
#     CPU.  Peer: the same load at 10 nodes (what the store costs per
#     node).
#  2. Heartbeat cost: an idle cluster origin's nginx CPU (its heartbeat,
#     snapshot, settings reads) beside the same node standalone (no
#     node_role, SQLite), ms of CPU a second.
#  3. Edge fan-out: wrk fetching the live playlist and its latest segment
#     through one edge vs straight from the origin: requests a second, and
#     how many requests per segment reached the origin from the edge.
#  4. kill -9 of an edge -> how long the balancer (ams_cluster_upstream,
#     balancer-ams.conf) takes to answer well again, and how many
#     requests failed meanwhile.
#  5. MongoDB stopped (SIGSTOP) for BENCH_OUTAGE s (30) under a live
#     stream: video frames an RTMP player on an edge received vs what
#     the publisher sent meanwhile.
#  6. kill -9 of an origin -> the edges' 404 for its stream (goal: 4
#     periods).
#
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
OUTAGE=${BENCH_OUTAGE:-30}
SECS=${BENCH_SECONDS:-20}

export AMS_CLUSTER_PREFIX="$OUT/cluster"
export AMS_CLUSTER_HTTP=15180 AMS_CLUSTER_RTMP=11980 AMS_CLUSTER_RTMP_PLAY=11981
export AMS_CLUSTER_NODE_HTTP=15181 AMS_CLUSTER_NODE_RTMP=11982
export AMS_MONGO_PORT=37180
LB_HTTP="http://127.0.0.1:$AMS_CLUSTER_HTTP"
O1="127.0.0.11" E1="127.0.0.21" E2="127.0.0.22"
LOCAL="$ROOT/examples/cluster/local.sh"

mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_input_flv 300

cc -O2 -Wall $(pkg-config --cflags libmongoc-1.0) -o "$OUT/ams_mongo_load" \
    "$ROOT/bench/ams_mongo_load.c" $(pkg-config --libs libmongoc-1.0) -lpthread

cpu_ticks() {   # pids... -> utime+stime in clock ticks
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

nginx_pids() {   # prefix -> master and workers
    local m
    m=$(cat "$1/nginx.pid")
    echo "$m $(pgrep -P "$m" | tr '\n' ' ')"
}

TCK=$(getconf CLK_TCK)

cleanup() { "$LOCAL" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

rm -rf "$AMS_CLUSTER_PREFIX"
"$LOCAL" start >/dev/null
MONGO_PID=$(cat "$AMS_CLUSTER_PREFIX/mongo.pid")
URI="mongodb://127.0.0.1:$AMS_MONGO_PORT/?serverSelectionTimeoutMS=2000"

echo "# cluster benchmarks, $(nproc) cores, $(date -u +%F)"

# --- 1. store load -----------------------------------------------------------
for nodes in 10 1000; do
    t0=$(cpu_ticks "$MONGO_PID")
    res=$("$OUT/ams_mongo_load" "$URI" "$nodes" 5 100 "$SECS")
    t1=$(cpu_ticks "$MONGO_PID")
    echo "store load, $nodes nodes / 5 s + 100 lookups/s for ${SECS}s:"
    echo "$res" | sed 's/^/    /'
    echo "    wire server CPU: $(( (t1 - t0) * 1000 / TCK / SECS )) ms/s"
done

# --- 2. heartbeat cost -------------------------------------------------------
S="$OUT/cluster-standalone"
rm -rf "$S"; mkdir -p "$S"
bench_ams_api_conf "$S" 15190 "" "application LiveApp { hls on; }"
bench_start "$S"
sleep 2
read -r -a ps <<<"$(nginx_pids "$S")"
read -r -a pc <<<"$(nginx_pids "$AMS_CLUSTER_PREFIX/origin1")"
a0=$(cpu_ticks "${ps[@]}"); b0=$(cpu_ticks "${pc[@]}")
sleep "$SECS"
a1=$(cpu_ticks "${ps[@]}"); b1=$(cpu_ticks "${pc[@]}")
bench_stop "$S"
echo "idle node CPU over ${SECS}s: cluster origin (1 s heartbeat)" \
    "$(awk -v t=$((b1 - b0)) -v k="$TCK" -v s="$SECS" 'BEGIN {printf "%.1f", t * 1000 / k / s}') ms/s," \
    "standalone $(awk -v t=$((a1 - a0)) -v k="$TCK" -v s="$SECS" 'BEGIN {printf "%.1f", t * 1000 / k / s}') ms/s"

# --- 3. edge fan-out ---------------------------------------------------------
ffmpeg -v error -re -stream_loop -1 -i "$INPUT" -c copy -f flv \
    "rtmp://$O1:$AMS_CLUSTER_NODE_RTMP/LiveApp/bench" &
PUB=$!
for _ in $(seq 100); do
    curl -sf "http://$O1:$AMS_CLUSTER_NODE_HTTP/LiveApp/streams/bench.m3u8" \
        | grep -q '\.ts' && break
    sleep 0.2
done
sleep 6
cat >"$OUT/hls.lua" <<'LUA'
-- a viewer: the playlist, then its latest segment, again and again
local n = 0
request = function()
    n = n + 1
    if n % 2 == 1 then return wrk.format("GET", wrk.path) end
    return wrk.format("GET", seg)
end
init = function(args) seg = args[1] end
LUA
fanout() {   # host -> req/s
    local host=$1 pl seg
    pl=$(curl -sf "http://$host/LiveApp/streams/bench.m3u8")
    seg=/LiveApp/streams/$(echo "$pl" | grep '\.ts' | tail -1)
    wrk -t2 -c50 -d"${SECS}s" -s "$OUT/hls.lua" \
        "http://$host/LiveApp/streams/bench.m3u8" -- "$seg" 2>/dev/null \
        | awk '/Requests\/sec/ {print $2}'
}
origin_log="$AMS_CLUSTER_PREFIX/origin1/logs/access.log"
before=$(grep -c '\.ts ' "$origin_log" || true)
edge_rps=$(fanout "$E1:$AMS_CLUSTER_NODE_HTTP")
after=$(grep -c '\.ts ' "$origin_log" || true)
origin_rps=$(fanout "$O1:$AMS_CLUSTER_NODE_HTTP")
echo "HLS fan-out, 50 connections, playlist + latest segment, ${SECS}s:" \
    "through an edge $edge_rps req/s, from the origin $origin_rps req/s" \
    "(edge/origin $(awk -v a="$edge_rps" -v b="$origin_rps" 'BEGIN {printf "%.2f", a / b}'));" \
    "segment requests that reached the origin from the edge: $((after - before))"

# --- 4. failover -------------------------------------------------------------
# requests through the balancer for 3 s after the kill: how many failed,
# and when the last one did
e1=$(cat "$AMS_CLUSTER_PREFIX/edge1/nginx.pid")
kill -9 "$e1" $(pgrep -P "$e1") 2>/dev/null || true
t0=$(date +%s%N)
fails=0 total=0 last=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do
    total=$((total + 1))
    if ! curl -sf -o /dev/null --max-time 2 "$LB_HTTP/LiveApp/streams/bench.m3u8"; then
        fails=$((fails + 1))
        last=$(( ($(date +%s%N) - t0) / 1000000 ))
    fi
done
echo "kill -9 of an edge: $fails of $total requests through the balancer" \
    "failed in the next 3 s, the last $last ms after the kill" \
    "(ams_cluster_upstream)"

# --- 5. MongoDB stopped under a live stream ---------------------------------
ffprobe -v error -rw_timeout 60000000 -count_frames -select_streams v:0 \
    -show_entries stream=nb_read_frames -of csv=p=0 \
    -read_intervals "%+$((OUTAGE + 20))" \
    "rtmp://$E2:$AMS_CLUSTER_NODE_RTMP/LiveApp/bench" >"$OUT/outage.frames" 2>/dev/null &
PROBE=$!
sleep 10
kill -STOP "$MONGO_PID"
sleep "$OUTAGE"
kill -CONT "$MONGO_PID"
wait "$PROBE" || true
# every node answers the store again before the next figure
for n in 11 12 22; do
    for _ in $(seq 200); do
        curl -s "http://127.0.0.$n:$AMS_CLUSTER_NODE_HTTP/rest/v2/system-resources" \
            | grep -q '"dbReachable":true' && break
        sleep 0.1
    done
done
echo "MongoDB stopped ${OUTAGE}s under a 30 fps stream: an edge's RTMP" \
    "player read $(cat "$OUT/outage.frames") video frames in" \
    "$((OUTAGE + 20)) s (expected about $(( (OUTAGE + 20) * 30 )))"

kill "$PUB" 2>/dev/null || true
pid=$(cat "$AMS_CLUSTER_PREFIX/origin1/nginx.pid")
ffmpeg -v error -re -stream_loop -1 -i "$INPUT" -c copy -f flv \
    "rtmp://$O1:$AMS_CLUSTER_NODE_RTMP/LiveApp/bench2" &
PUB=$!
live=0
for _ in $(seq 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.22:$AMS_CLUSTER_NODE_HTTP/LiveApp/streams/bench2.m3u8")" = 200 ] \
        && { live=1; break; }
    sleep 0.2
done
[ "$live" = 1 ] || echo "(bench2 never played on the edge: the figure below means nothing)"
kill -9 "$pid" $(pgrep -P "$pid") 2>/dev/null || true
t0=$(date +%s%N)
for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.22:$AMS_CLUSTER_NODE_HTTP/LiveApp/streams/bench2.m3u8")" = 404 ] && break
    sleep 0.05
done
t1=$(date +%s%N)
kill "$PUB" 2>/dev/null || true
echo "kill -9 of an origin: an edge answers 404 for its stream after" \
    "$(( (t1 - t0) / 1000000 )) ms (heartbeat 1 s: goal 4000 ms)"
