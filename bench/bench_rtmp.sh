#!/usr/bin/env bash
# RTMP ingest, fan-out, memory and packaging delay: nginx-ams beside
# nginx-rtmp-module (Debian's libnginx-mod-rtmp), same machine, same run,
# same input (a pre-encoded 720p ~1.5 Mb/s FLV replayed at real time by
# bench/ams_rtmp_load.c), HLS on with 2 s fragments.  Publishing runs
# with two workers each (nginx-rtmp without rtmp_auto_push, its cheapest
# setup); fan-out with one worker each.
#
# Run it with ./build.sh bench (which builds the modules and sets
# AMS_MODULES).  BENCH_SECONDS (default 30) sets each run's length;
# BENCH_PUBLISHERS (default "20 50 100") and BENCH_PLAYERS (default
# "200 1000") the loads; BENCH_WARMUP (default 0) how many seconds of each
# publish run pass before CPU is counted (a new stream's frame ring costs
# page faults until it has filled once); BENCH_REPEAT (default 3) how many
# times each
# pair runs (alternating servers): figures are medians.  Benchmarks are
# not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
SECONDS_RUN=${BENCH_SECONDS:-30}
PUBLISHERS=${BENCH_PUBLISHERS:-20 50 100}
PLAYERS=${BENCH_PLAYERS:-200 1000}
REPEAT=${BENCH_REPEAT:-3}
WARMUP=${BENCH_WARMUP:-0}
PORT=19350
TICK=$(getconf CLK_TCK)

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client

bench_input_flv $((SECONDS_RUN + 40))

# --- servers ---------------------------------------------------------------

conf_common() {
    local p=$1
    cat <<EOF
worker_processes  ${WORKERS:-2};
pid               $p/nginx.pid;
error_log         $p/error.log warn;
events { worker_connections 8192; }
EOF
}

conf_ams() {
    local p=$1
    cat <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module $MODULES/ngx_ams_core_module.so;
load_module $MODULES/ngx_ams_ingest_module.so;
load_module $MODULES/ngx_ams_packager_module.so;
$(conf_common "$p")
thread_pool ams threads=2;
ams {
    storage        $p/media;
    thread_pool    ams;
    bus_zone_size  1024m;
    max_streams    200;
    cpu_limit      100;   # measure, do not refuse
    memory_limit   100;
    wake_interval  ${BENCH_WAKE_INTERVAL:-40ms};
    application LiveApp {
        hls_time       2s;
        hls_list_size  15;
        delete_hls_files_on_ended  off;
    }
}
stream { server { listen 127.0.0.1:$PORT; ams_rtmp; } }
EOF
}

conf_rtmp() {
    local p=$1
    cat <<EOF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
$(conf_common "$p")
rtmp {
    server {
        listen 127.0.0.1:$PORT;
        chunk_size 4096;
        application LiveApp {
            live on;
            hls on;
            hls_path $p/media/LiveApp/streams;
            hls_fragment 2s;
            hls_playlist_length 30s;
        }
    }
}
EOF
}

start_server() {   # kind; WORKERS in the environment
    local kind=$1 p="$OUT/srv-$1"
    rm -rf "$p"
    mkdir -p "$p/media/LiveApp/streams"
    chmod -R 0777 "$p/media"
    if [ "$kind" = ams ]; then conf_ams "$p" >"$p/nginx.conf"
    else conf_rtmp "$p" >"$p/nginx.conf"; fi
    nginx -p "$p/" -c "$p/nginx.conf" -e "$p/error.log"
    for _ in $(seq 100); do [ -s "$p/nginx.pid" ] && break; sleep 0.05; done
    sleep 0.5
    SERVER_PREFIX=$p
    SERVER_PID=$(cat "$p/nginx.pid")
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
}

server_pids() { echo "$SERVER_PID" $(pgrep -P "$SERVER_PID"); }

cpu_ticks() {   # user+system of master and workers, all their threads
    local t=0 pid
    for pid in $(server_pids); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo $t
}

pss_kb() {
    local t=0 pid
    for pid in $(server_pids); do
        t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo $t
}

field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- publish ---------------------------------------------------------------

bench_publish() {   # kind n -> "cpu_s_per_pub_min pss_kb_per_stream delay_median"
    local kind=$1 n=$2 c0 c1 pss0 pss1 log
    start_server "$kind"
    pss0=$(pss_kb)
    log="$OUT/publish-$kind-$n.txt"
    "$OUT/ams_rtmp_load" publish $PORT LiveApp bench "$n" "$SECONDS_RUN" "$INPUT" \
        "$SERVER_PREFIX/media/LiveApp/streams" >"$log" &
    local client=$!
    sleep "$WARMUP"
    c0=$(cpu_ticks)
    sleep $((SECONDS_RUN - WARMUP - 2))
    pss1=$(pss_kb)
    wait $client
    c1=$(cpu_ticks)
    stop_server
    awk -v c=$((c1 - c0)) -v t="$TICK" -v n="$n" -v s="$((SECONDS_RUN - WARMUP))" \
        -v p0="$pss0" -v p1="$pss1" -v d="$(field packaging_delay_median_ms "$log")" \
        'BEGIN { printf "%.3f %.0f %s\n", c / t / (n * s / 60), (p1 - p0) / n, d == "" ? "n/a" : d }'
}

# --- fan-out ---------------------------------------------------------------

# One worker each: nginx-rtmp's players on a second worker depend on
# rtmp_auto_push relays, which here left some players without frames.
bench_play() {   # kind n -> "cpu_ms_per_player_min sent min_received closed"
    local kind=$1 n=$2 c0 c1 log plog
    WORKERS=1 start_server "$kind"
    log="$OUT/play-$kind-$n.txt"
    plog="$OUT/play-pub-$kind-$n.txt"
    c0=$(cpu_ticks)
    "$OUT/ams_rtmp_load" play $PORT LiveApp fan "$n" "$SECONDS_RUN" >"$log" &
    local players=$!
    sleep 2
    "$OUT/ams_rtmp_load" publish $PORT LiveApp fan 1 $((SECONDS_RUN - 5)) "$INPUT" >"$plog"
    wait $players
    c1=$(cpu_ticks)
    stop_server
    awk -v c=$((c1 - c0)) -v t="$TICK" -v n="$n" -v s="$SECONDS_RUN" \
        -v sent="$(field video_frames_sent "$plog")" \
        -v min="$(field video_frames_min "$log")" \
        -v closed="$(field closed "$log")" \
        'BEGIN { printf "%.1f %s %s %s\n", c / t * 1000 / (n * s / 60), sent, min, closed }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

echo "# nginx-ams vs nginx-rtmp-module, $(nproc) cores, ${SECONDS_RUN}s runs (publish CPU after ${WARMUP}s), medians of $REPEAT, $(date -u +%F)"
echo "# input: $(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$INPUT") b/s FLV, 720p30"
echo

printf '%-28s %12s %12s %8s\n' "publish (HLS on)" nginx-ams nginx-rtmp ratio
for n in $PUBLISHERS; do
    declare -A v=()
    for _ in $(seq "$REPEAT"); do
        read -r cpu mem delay < <(bench_publish ams "$n")
        v[a_cpu]+=" $cpu"; v[a_mem]+=" $mem"; v[a_delay]+=" $delay"
        read -r cpu mem delay < <(bench_publish rtmp "$n")
        v[r_cpu]+=" $cpu"; v[r_mem]+=" $mem"; v[r_delay]+=" $delay"
    done
    for k in cpu mem delay; do
        a=$(echo "${v[a_$k]}" | median)
        r=$(echo "${v[r_$k]}" | median)
        case $k in
            cpu) label="CPU s/publisher-min, $n" ;;
            mem) label="PSS KiB/stream, $n" ;;
            delay) label="packaging delay ms, $n" ;;
        esac
        printf '%-28s %12s %12s %8s\n' "$label" "$a" "$r" "$(ratio "$a" "$r")"
    done
    unset v
done
echo

printf '%-28s %12s %12s %8s\n' "fan-out (1 publisher)" nginx-ams nginx-rtmp ratio
for n in $PLAYERS; do
    declare -A v=()
    for _ in $(seq "$REPEAT"); do
        read -r cpu sent min closed < <(bench_play ams "$n")
        v[a_cpu]+=" $cpu"; v[a_got]+=" $sent/$min"; v[a_closed]+=" $closed"
        read -r cpu sent min closed < <(bench_play rtmp "$n")
        v[r_cpu]+=" $cpu"; v[r_got]+=" $sent/$min"; v[r_closed]+=" $closed"
    done
    a=$(echo "${v[a_cpu]}" | median)
    r=$(echo "${v[r_cpu]}" | median)
    printf '%-28s %12s %12s %8s\n' "CPU ms/player-min, $n" "$a" "$r" "$(ratio "$a" "$r")"
    printf '%-28s %s | %s\n' "frames sent/min got, $n" "${v[a_got]# }" "${v[r_got]# }"
    printf '%-28s %s | %s\n' "players cut off, $n" "${v[a_closed]# }" "${v[r_closed]# }"
    unset v
done
