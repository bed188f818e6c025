#!/usr/bin/env bash
# What DASH costs on top of fMP4 HLS: nginx-ams's CPU (master, workers and
# the packager's threads) with BENCH_PUBLISHERS (default 20) RTMP
# publishers replaying the pre-encoded 720p ~1.5 Mb/s FLV of
# bench_rtmp.sh at real time (bench/ams_rtmp_load.c), 2 s segments, with
#
#   fmp4        hls_segment_type fmp4
#   fmp4+dash   the same and dash on
#
# Both share one CMAF writer, so DASH should add little (the goal: under
# 15%).  With BENCH_BEFORE_MODULES=DIR (modules built from an earlier
# commit), the same pair runs with those too, for a before/after.
#
# BENCH_SECONDS (default 40) per run, of which BENCH_WARMUP (default 10)
# pass before CPU is counted; BENCH_REPEAT (default 3) runs of each setup,
# alternating: figures are medians.  The node's prefix (media included) is
# BENCH_PREFIX, by default on tmpfs (/dev/shm): on the disk, ext4's
# writeback made the file writes of identical runs cost up to twice as
# much CPU, which hid the difference measured.  Benchmarks are not tests:
# they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
AFTER_MODULES=${AMS_MODULES:-$ROOT/build/modules}
BEFORE_MODULES=${BENCH_BEFORE_MODULES:-}
SECONDS_RUN=${BENCH_SECONDS:-40}
WARMUP=${BENCH_WARMUP:-10}
PUBLISHERS=${BENCH_PUBLISHERS:-20}
REPEAT=${BENCH_REPEAT:-3}
PREFIX=${BENCH_PREFIX:-}
if [ -z "$PREFIX" ]; then
    PREFIX="$OUT/srv-packager"
    [ -d /dev/shm ] && [ -w /dev/shm ] && PREFIX=/dev/shm/ams-bench-packager
fi
PORT=19351
HTTP=15081

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client

bench_input_flv $((SECONDS_RUN + 40))

# CPU time of master and workers, every thread (the packager's pool too),
# in ns from schedstat: clock ticks are too coarse for a 15% difference
cpu_ns() {
    local master
    master=$(cat "$1/nginx.pid")
    for pid in $master $(pgrep -P "$master"); do
        cat /proc/"$pid"/task/*/schedstat 2>/dev/null
    done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# one run: setup modules -> CPU seconds per publisher-minute
bench_run() {
    local setup=$1 p=$PREFIX c0 c1 dash=off files
    [ "$setup" = fmp4+dash ] && dash=on
    MODULES=$2
    rm -rf "$p"
    bench_ams_api_conf "$p" "$HTTP" "$PORT" "
    bus_zone_size  1024m;
    max_streams    200;
    application LiveApp {
        hls_segment_type           fmp4;
        dash                       $dash;
        hls_time                   2s;
        hls_list_size              15;
        delete_hls_files_on_ended  off;
    }"
    bench_start "$p"
    "$OUT/ams_rtmp_load" publish "$PORT" LiveApp bench "$PUBLISHERS" \
        "$SECONDS_RUN" "$INPUT" >"$OUT/packager-$setup.txt" &
    local client=$!
    sleep "$WARMUP"
    c0=$(cpu_ns "$p")
    wait $client
    c1=$(cpu_ns "$p")
    files=$(find "$p/media/LiveApp/streams" -name '*.m4s' | wc -l)
    bench_stop "$p"
    [ "$files" -gt 0 ] || { echo "no fMP4 segments written ($setup)" >&2; exit 1; }
    rm -rf "$p"
    awk -v c=$((c1 - c0)) -v n="$PUBLISHERS" -v s="$((SECONDS_RUN - WARMUP))" \
        'BEGIN { printf "%.4f\n", c / 1e9 / (n * s / 60) }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

builds=(after)
[ -n "$BEFORE_MODULES" ] && builds+=(before)

declare -A v=()
for _ in $(seq "$REPEAT"); do
    for b in "${builds[@]}"; do
        m=$AFTER_MODULES
        [ "$b" = before ] && m=$BEFORE_MODULES
        for setup in fmp4 fmp4+dash; do
            v[$b-$setup]+=" $(bench_run "$setup" "$m")"
        done
    done
done

echo "# nginx-ams packager, $(nproc) cores, $PUBLISHERS publishers, ${SECONDS_RUN}s runs (CPU after ${WARMUP}s), medians of $REPEAT, $(date -u +%F)"
echo "# input: $(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$INPUT") b/s FLV, 720p30, 2 s segments, files under $PREFIX"
echo
printf '%-34s %12s %12s %8s\n' "CPU s/publisher-min" fmp4 fmp4+dash ratio
for b in "${builds[@]}"; do
    h=$(echo "${v[$b-fmp4]}" | median)
    d=$(echo "${v[$b-fmp4+dash]}" | median)
    label="one CMAF writer (this build)"
    [ "$b" = before ] && label="before (BENCH_BEFORE_MODULES)"
    printf '%-34s %12s %12s %8s\n' "$label" "$h" "$d" "$(ratio "$d" "$h")"
    printf '%-34s %s | %s\n' "  runs" "${v[$b-fmp4]# }" "${v[$b-fmp4+dash]# }"
done
