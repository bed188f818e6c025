#!/usr/bin/env bash
# The stream registry under HLS load: playlist requests/s through the
# HLS/DASH gate (ams_media: it finds the stream in the bus registry on
# every request) with 1 and with 1,000 live streams, beside nginx serving
# the same playlist without the gate (the peer: same nginx, same run).
# Goal: 1,000 live streams cost less than 10% of the requests/s.
#
# The streams are small (160x90, 10 fps, 2 s GOP, ~40 kb/s) so that
# packaging 1,000 of them leaves the machine to the HTTP load;
# stream_buffer 512k lets builds whose rings do not grow (AMS_MODULES of
# an earlier build, for a before/after) hold 1,000 streams too.
#
# BENCH_REGISTRY_SECONDS (default 10) per wrk run, BENCH_REPEAT (default
# 3) runs of each (figures are medians), BENCH_STREAMS (default 1000).
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
D=${BENCH_REGISTRY_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
STREAMS=${BENCH_STREAMS:-1000}
PORT=15180
RTMP=19450
P="$OUT/srv-registry"

command -v wrk >/dev/null || { echo "wrk is needed (apt install wrk)"; exit 1; }
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client

RUN=$((REPEAT * D * 3 + 120))
INPUT="$OUT/tiny-$RUN.flv"
if [ ! -s "$INPUT" ]; then
    ffmpeg -v error -y -f lavfi -i testsrc2=size=160x90:rate=10 -t "$RUN" \
        -c:v libx264 -preset ultrafast -b:v 40k -g 20 -keyint_min 20 \
        -sc_threshold 0 -pix_fmt yuv420p -f flv "$INPUT"
fi

rm -rf "$P"
bench_ams_api_conf "$P" "$PORT" "$RTMP" \
    "bus_zone_size 2048m; max_streams $((STREAMS + 10)); stream_buffer 512k;
     application LiveApp { hls_list_size 5; }" \
    "location ~ ^/LiveApp/streams/ { root $P/media; ams_media on; }
     location /plain/ { alias $P/media/LiveApp/streams/; }"
bench_start "$P"
trap 'kill $(jobs -p) 2>/dev/null; bench_stop "$P"' EXIT

BASE="http://127.0.0.1:$PORT"

rps() {   # wrk's Requests/sec for a URL
    wrk -t2 -c32 -d"${D}s" "$1" 2>/dev/null \
        | awk '/^Requests\/sec/ {printf "%d", $2}'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n \
    | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

wait_playlist() {   # the playlist of stream $1 with 2 segments
    local f="$P/media/LiveApp/streams/$1.m3u8"
    for _ in $(seq 600); do
        [ -s "$f" ] && [ "$(grep -c EXTINF "$f")" -ge 2 ] && return 0
        sleep 0.1
    done
    echo "no playlist for $1"; exit 1
}

measure() {   # label, stream name: gate and peer runs, alternating
    local name=$1 i gate="" plain=""
    for i in $(seq "$REPEAT"); do
        gate+="$(rps "$BASE/LiveApp/streams/$name.m3u8") "
        plain+="$(rps "$BASE/plain/$name.m3u8") "
    done
    echo "$(echo $gate | median) $(echo $plain | median)"
}

echo "== 1 live stream"
"$OUT/ams_rtmp_load" publish "$RTMP" LiveApp one 1 "$RUN" "$INPUT" >/dev/null &
ONE=$!
wait_playlist one
read -r G1 S1 <<<"$(measure one)"

echo "== $STREAMS live streams"
"$OUT/ams_rtmp_load" publish "$RTMP" LiveApp s $((STREAMS - 1)) "$RUN" \
    "$INPUT" >/dev/null &
wait_playlist "s$((STREAMS - 2))"
LIVE=$(ls "$P/media/LiveApp/streams/"*.m3u8 | wc -l)
read -r GN SN <<<"$(measure one)"
kill $ONE 2>/dev/null || true

echo
echo "== HLS playlist requests/s (median of $REPEAT, wrk -t2 -c32 -d${D}s, 2 workers)"
printf "%-28s %12s %14s %7s\n" "" "gate (ams)" "no gate (peer)" "ratio"
printf "%-28s %12s %14s %7s\n" "1 live stream" "$G1" "$S1" "$(ratio "$G1" "$S1")"
printf "%-28s %12s %14s %7s\n" "$LIVE live streams" "$GN" "$SN" "$(ratio "$GN" "$SN")"
printf "%-28s %12s %14s\n" "$LIVE vs 1 stream" "$(ratio "$GN" "$G1")" "$(ratio "$SN" "$S1")"
