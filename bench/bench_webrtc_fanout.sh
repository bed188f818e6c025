#!/usr/bin/env bash
# WebRTC fan-out: one RTMP stream into nginx-ams (two workers), played by
# N WHEP players (bench/ams_webrtc_load.c: ICE, DTLS, SRTP decrypted and
# counted, every player from its own loopback address).  The input is a
# testsrc H.264 stream (no B-frames, keyframe every 2 s, video only, so
# no audio transform runs) encoded once by ffmpeg at each bitrate and
# replayed at real time by bench/ams_rtmp_load.c (an encoder beside the
# server would take the cores it is measured on).  nginx's CPU (master
# and workers, from /proc) is counted over BENCH_SECONDS once every
# player has had time to connect: CPU per player-second, and players per
# core (how many one core serves at this rate).  The publisher's ingest
# is in it (one stream: small beside N players).
#
# The peer the issue names, Janus (streaming plugin), is not measured
# here (see results-webrtc.txt): the figures are printed beside the
# issue's goal (>= 2,000 players per core at 600 kb/s) and its figure for
# Janus (~350).
#
# BENCH_PLAYERS (default "100 200 400"), BENCH_RATES (default "600 1500",
# kb/s), BENCH_SECONDS (default 20), BENCH_REPEAT (default 1).
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
PLAYERS=${BENCH_PLAYERS:-100 200 400}
RATES=${BENCH_RATES:-600 1500}
SECONDS_RUN=${BENCH_SECONDS:-20}
REPEAT=${BENCH_REPEAT:-1}
RAMP=50                         # new WHEP sessions a second
HTTP=15181
RTMP=19381
UDP=40180
TICK=$(getconf CLK_TCK)

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client
W="$ROOT/ngx_ams_webrtc"
cc -O2 -Wall -I"$W" -o "$OUT/ams_webrtc_load" "$ROOT/bench/ams_webrtc_load.c" \
    "$W/ngx_ams_stun.c" "$W/ngx_ams_dtls.c" "$W/ngx_ams_srtp.c" \
    -lsrtp2 -lssl -lcrypto -lz

# input_flv KBPS SECONDS: 640x360 at 600 kb/s, 1280x720 above
input_flv() {
    local size=640x360
    [ "$1" -gt 1000 ] && size=1280x720
    INPUT="$OUT/webrtc-input-$1.flv"
    [ -s "$INPUT" ] && return
    ffmpeg -v error -y -f lavfi -i "testsrc=size=$size:rate=30" -t "$2" \
        -c:v libx264 -preset veryfast -profile:v baseline -bf 0 \
        -b:v "$1k" -maxrate "$1k" -bufsize "$(($1 * 2))k" -g 60 \
        -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p -an -f flv "$INPUT"
}

P="$OUT/srv-webrtc-fanout"

start_ams() {
    rm -rf "$P"
    bench_ams_api_conf "$P" "$HTTP" "$RTMP" "
    webrtc_udp_port_base   $UDP;
    webrtc_public_address  127.0.0.1;
    webrtc_max_sessions    10000;
    bus_zone_size          256m;
    application LiveApp {
        delete_hls_files_on_ended  off;
    }" "location ~ ^/[^/]+/(whip|whep)/ { ams_webrtc on; }"
    sed -i "s|^load_module .*ngx_ams_api_module.so;|&\nload_module $MODULES/ngx_ams_webrtc_module.so;|" \
        "$P/nginx.conf"
    bench_start "$P"
    PID=$(cat "$P/nginx.pid")
}

cpu_ticks() {   # "user system" of the master and its workers
    local u=0 s=0 pid a b
    for pid in $PID $(pgrep -P "$PID"); do
        read -r a b < <(awk '{print $14, $15}' "/proc/$pid/stat" 2>/dev/null \
            || echo 0 0)
        u=$((u + a))
        s=$((s + b))
    done
    echo $u $s
}

field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

# one run: "players_per_core cpu_us_per_player_s receiving min_packets
# setup_ms mbps system_percent"
run() {
    local kbps=$1 n=$2 ramp u0 s0 u1 s1 log="$OUT/webrtc-fanout-$1-$2.txt"
    ramp=$((n / RAMP + 3))
    start_ams
    "$OUT/ams_rtmp_load" publish "$RTMP" LiveApp fan 1 \
        $((ramp + SECONDS_RUN + 10)) "$INPUT" >/dev/null &
    local pub=$!
    sleep 3
    "$OUT/ams_webrtc_load" "$HTTP" LiveApp fan "$n" $((ramp + SECONDS_RUN + 1)) \
        "$RAMP" >"$log" 2>"$log.err" &
    local players=$!
    sleep "$ramp"
    read -r u0 s0 < <(cpu_ticks)
    sleep "$SECONDS_RUN"
    read -r u1 s1 < <(cpu_ticks)
    wait $players || true
    kill $pub 2>/dev/null || true
    wait $pub 2>/dev/null || true
    bench_stop "$P"
    awk -v c=$((u1 + s1 - u0 - s0)) -v sys=$((s1 - s0)) -v t="$TICK" -v n="$n" -v s="$SECONDS_RUN" \
        -v rx="$(field receiving "$log")" -v min="$(field packets_min "$log")" \
        -v setup="$(field setup_median_ms "$log")" \
        -v bytes="$(field bytes "$log")" -v all=$((ramp + SECONDS_RUN)) \
        'BEGIN { cpu = c / t; if (cpu <= 0) cpu = 1 / t
                 printf "%.0f %.0f %s %s %s %.1f %.0f\n", n * s / cpu,
                        cpu * 1e6 / (n * s), rx, min, setup,
                        bytes * 8 / 1e6 / (all > 0 ? all : 1),
                        (c > 0 ? 100 * sys / c : 0) }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

echo "# WebRTC fan-out (WHEP, one RTMP source), nginx-ams 2 workers, $(nproc) cores, ${SECONDS_RUN}s counted after the players joined, medians of $REPEAT, $(date -u +%F)"
echo "# Janus not measured: the issue's goal and its Janus figure are printed beside"
printf '%-18s %12s %11s %9s %8s %8s %7s %5s %7s\n' "rate, players" \
    players/core us/player-s receiving "min pkts" "setup ms" "Mb/s rx" "sys %" "vs goal"
for kbps in $RATES; do
    input_flv "$kbps" 120
    for n in $PLAYERS; do
        declare -A v=()
        for _ in $(seq "$REPEAT"); do
            read -r ppc us rx min setup mbps sys < <(run "$kbps" "$n")
            v[ppc]+=" $ppc"; v[us]+=" $us"; v[rx]+=" $rx"; v[min]+=" $min"
            v[setup]+=" $setup"; v[mbps]+=" $mbps"; v[sys]+=" $sys"
        done
        ppc=$(echo "${v[ppc]}" | median)
        printf '%-18s %12s %11s %9s %8s %8s %7s %5s %7s\n' "${kbps} kb/s, $n" \
            "$ppc" "$(echo "${v[us]}" | median)" "$(echo "${v[rx]}" | median)/$n" \
            "$(echo "${v[min]}" | median)" "$(echo "${v[setup]}" | median)" \
            "$(echo "${v[mbps]}" | median)" "$(echo "${v[sys]}" | median)" \
            "$(awk -v a="$ppc" 'BEGIN { printf "%.2f", a / 2000 }')"
        unset v
    done
done
echo "# goal (issue): >= 2000 players/core at 600 kb/s; Janus per the issue: ~350 (not measured here)"
