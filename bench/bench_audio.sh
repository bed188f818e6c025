#!/usr/bin/env bash
# AAC -> Opus per stream: nginx-ams's audio transform ("transcode_opus
# on": a companion {id}_opus with the video passed through and the audio
# in Opus) beside the ffmpeg CLI doing the same job on the same RTMP
# stream:
#
#   ffmpeg -i rtmp://.../LiveApp/benchN -c:v copy -c:a libopus -b:a 64k \
#          -f null -
#
# BENCH_STREAMS (default 4) RTMP publishers replay the pre-encoded 720p
# FLV of bench_rtmp.sh (AAC 44.1 kHz) at real time, packaging off, in
# three setups per round, alternating:
#
#   base    nginx-ams ingesting only
#   ams     the same with transcode_opus on (transcode_opus_bitrate 64000)
#   ffmpeg  base, plus one ffmpeg CLI per stream reading it over RTMP
#
# Ours is (CPU of nginx in "ams") - (CPU of nginx in "base"): the reader,
# decoder, resampler, libopus, the hand-off and the companion's ring; the
# peer's is the ffmpeg processes' own CPU (its RTMP demuxing included,
# as our ingest is not).  Both in CPU seconds per stream-minute; the
# ratio is ours over ffmpeg's.
#
# BENCH_SECONDS (default 40) per run, of which BENCH_WARMUP (default 10)
# pass before CPU is counted; BENCH_REPEAT (default 3) rounds: figures
# are medians.  Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
SECONDS_RUN=${BENCH_SECONDS:-40}
WARMUP=${BENCH_WARMUP:-10}
STREAMS=${BENCH_STREAMS:-4}
REPEAT=${BENCH_REPEAT:-3}
PREFIX=${BENCH_PREFIX:-}
if [ -z "$PREFIX" ]; then
    PREFIX="$OUT/srv-audio"
    [ -d /dev/shm ] && [ -w /dev/shm ] && PREFIX=/dev/shm/ams-bench-audio
fi
PORT=19353
HTTP=15083

mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client

bench_input_flv $((SECONDS_RUN + 40))

# a failed run leaves no server behind
trap '[ -s "$PREFIX/nginx.pid" ] && bench_stop "$PREFIX"' EXIT

# CPU time of processes and all their threads, in ns (schedstat)
cpu_ns() {
    for pid in "$@"; do
        cat /proc/"$pid"/task/*/schedstat 2>/dev/null
    done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

nginx_pids() {
    local master
    master=$(cat "$1/nginx.pid")
    echo "$master" $(pgrep -P "$master")
}

# one run: setup -> CPU seconds per stream-minute (nginx's, or ffmpeg's)
bench_run() {
    local setup=$1 p=$PREFIX c0 c1 opus=off pids i n
    local -a peers=()
    [ "$setup" = ams ] && opus=on
    rm -rf "$p"
    bench_ams_api_conf "$p" "$HTTP" "$PORT" "
    bus_zone_size  512m;
    application LiveApp {
        hls                     off;
        dash                    off;
        transcode_opus          $opus;
        transcode_opus_bitrate  64000;
    }"
    # the transform lives in the transcode module's .so; its start and
    # encoder are said at "info"
    sed -i -e "s|^load_module $MODULES/ngx_ams_api_module.so;|&\nload_module $MODULES/ngx_ams_transcode_module.so;|" \
        -e "s|^error_log .*|error_log $p/error.log info;|" "$p/nginx.conf"
    bench_start "$p"
    "$OUT/ams_rtmp_load" publish "$PORT" LiveApp bench "$STREAMS" \
        "$SECONDS_RUN" "$INPUT" >"$OUT/audio-$setup.txt" &
    local client=$!
    sleep 1

    if [ "$setup" = ffmpeg ]; then
        for i in $(seq 0 $((STREAMS - 1))); do
            ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$PORT/LiveApp/bench$i" \
                -c:v copy -c:a libopus -b:a 64k -f null - \
                2>>"$OUT/audio-ffmpeg.log" &
            peers+=($!)
        done
    fi

    sleep $((WARMUP - 1))
    pids=$(nginx_pids "$p")
    [ "$setup" = ffmpeg ] && pids="${peers[*]}"
    # shellcheck disable=SC2086
    c0=$(cpu_ns $pids)
    sleep $((SECONDS_RUN - WARMUP - 2))
    # shellcheck disable=SC2086
    c1=$(cpu_ns $pids)
    n=$((SECONDS_RUN - WARMUP - 2))
    # an RTMP player waits for a republish: the peers are stopped
    for i in "${peers[@]}"; do kill "$i" 2>/dev/null || true; done
    for i in "${peers[@]}"; do wait "$i" 2>/dev/null || true; done
    wait $client || true

    if [ "$setup" = ams ]; then
        grep -q 'ams audio: .*encoding with' "$p/error.log" \
            || { echo "no Opus companion in the ams run:" >&2;
                 tail -5 "$p/error.log" >&2; exit 1; }
    fi

    bench_stop "$p"
    rm -rf "$p"
    awk -v c=$((c1 - c0)) -v k="$STREAMS" -v s="$n" \
        'BEGIN { printf "%.4f\n", c / 1e9 / (k * s / 60) }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

declare -A v=()
for _ in $(seq "$REPEAT"); do
    for setup in base ams ffmpeg; do
        v[$setup]+=" $(bench_run "$setup")"
    done
done

base=$(echo "${v[base]}" | median)
ams=$(echo "${v[ams]}" | median)
ff=$(echo "${v[ffmpeg]}" | median)

echo "# AAC -> Opus, $(nproc) cores, $STREAMS streams, ${SECONDS_RUN}s runs (CPU over $((SECONDS_RUN - WARMUP - 2))s after ${WARMUP}s), medians of $REPEAT, $(date -u +%F)"
echo "# input: $(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$INPUT") b/s FLV, 720p30 H.264 + AAC $(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate,channels -of csv=p=0 "$INPUT" | tr ',' ' ') (Hz, channels); Opus 64 kbit/s both"
echo
awk -v b="$base" -v a="$ams" -v f="$ff" 'BEGIN {
    ours = a - b
    printf "%-44s %10s\n", "CPU s per stream-minute", ""
    printf "%-44s %10.4f\n", "nginx-ams ingest alone (base)", b
    printf "%-44s %10.4f\n", "nginx-ams with transcode_opus on", a
    printf "%-44s %10.4f\n", "  the transform (difference)", ours
    printf "%-44s %10.4f\n", "ffmpeg -c:v copy -c:a libopus (per process)", f
    if (f > 0) printf "%-44s %10.2f\n", "ratio transform / ffmpeg", ours / f
}'
echo "# runs: base${v[base]} | ams${v[ams]} | ffmpeg${v[ffmpeg]}"
