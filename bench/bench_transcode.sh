#!/usr/bin/env bash
# Transcoding: nginx-ams's transcoder beside one ffmpeg CLI command doing
# the same ladder, same machine, same run.  The source is a 1080p30 H.264
# + AAC FLV made once with ffmpeg, published with ffmpeg -c copy; the
# ladder is 720p 2500k, 480p 1000k, 360p 600k, libx264 veryfast, IDRs at
# the source's keyframes and nowhere else, audio passed through.
#
#   real time (-re)  CPU seconds per source minute: nginx's processes
#                    (master, workers, their threads) minus a plain relay
#                    baseline (the same publish, no ladder), vs ffmpeg's;
#                    and the latency from a frame's arrival on the bus to
#                    the same frame encoded on every rung (median, p99),
#                    from the transcoder's end-of-stream log line
#   flat out         frames/s when the source comes as fast as it can
#                    (the publisher without -re; our encoder_queue is
#                    large enough that nothing is dropped)
#
# HLS is off in every nginx run: the figures are the transcoding's, as
# ffmpeg writes to the null muxer.  ffmpeg scales each rung from the
# source (split, scale); ours cascades (each rung from the one above).
#
# BENCH_SECONDS (default 20) the source's length, BENCH_REPEAT (default
# 3) runs of each (alternating), figures are medians; BENCH_TUNE an x264
# tune for both (zerolatency: no lookahead, no B-frames, sliced threads).  Benchmarks are not
# tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
SECS=${BENCH_SECONDS:-20}
REPEAT=${BENCH_REPEAT:-3}
TUNE=${BENCH_TUNE:-}
PORT=19361
TICK=$(getconf CLK_TCK)
FPS=30

mkdir -p "$OUT"

SRC="$OUT/transcode_src_1080p30_${SECS}s.flv"
if [ ! -s "$SRC" ]; then
    ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=$FPS" \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t "$SECS" \
        -c:v libx264 -preset veryfast -b:v 6000k -g 60 -keyint_min 60 \
        -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$SRC"
fi
FRAMES=$((SECS * FPS))

LADDER='[{"height":720,"videoBitrate":2500000},{"height":480,"videoBitrate":1000000},{"height":360,"videoBitrate":600000}]'
X264_PARAMS="scenecut=0:open-gop=0:keyint=infinite:min-keyint=1"

conf_ams() {
    local p=$1
    cat <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module $MODULES/ngx_ams_core_module.so;
load_module $MODULES/ngx_ams_ingest_module.so;
load_module $MODULES/ngx_ams_packager_module.so;
load_module $MODULES/ngx_ams_transcode_module.so;
worker_processes  1;
pid               $p/nginx.pid;
error_log         $p/error.log notice;
events { worker_connections 1024; }
thread_pool ams threads=4;
ams {
    storage        $p/media;
    thread_pool    ams;
    bus_zone_size  512m;
    stream_buffer  64m;
    cpu_limit      100;   # measure, do not refuse
    memory_limit   100;
    application Relay {
        hls  off;
    }
    application Ladder {
        hls               off;
        encoder_settings  '$LADDER';
        encoder_preset    veryfast;
        ${TUNE:+encoder_tune      $TUNE;}
        encoder_queue     1000000;
    }
}
stream { server { listen 127.0.0.1:$PORT; ams_rtmp; } }
EOF
}

start_server() {
    local p="$OUT/srv-transcode"
    rm -rf "$p"
    mkdir -p "$p/media"
    chmod 0777 "$p/media"
    conf_ams "$p" >"$p/nginx.conf"
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

cpu_ticks() {   # user+system of master and workers, all their threads
    local t=0 pid
    for pid in $SERVER_PID $(pgrep -P "$SERVER_PID"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo $t
}

now() { date +%s.%N; }

# app, "re" or "flat" -> "cpu_s wall_s decoded median_ms p99_ms dropped"
run_ams() {
    local app=$1 mode=$2 c0 c1 t0 t1 re=() line
    [ "$mode" = re ] && re=(-re)
    start_server
    c0=$(cpu_ticks)
    t0=$(now)
    ffmpeg -v error -nostdin "${re[@]}" -i "$SRC" -c copy -f flv \
        "rtmp://127.0.0.1:$PORT/$app/b"
    if [ "$app" = Ladder ]; then
        for _ in $(seq 6000); do
            grep -q 'ams transcode: "b" ended' "$SERVER_PREFIX/error.log" && break
            sleep 0.05
        done
    else
        sleep 0.5
    fi
    t1=$(now)
    c1=$(cpu_ticks)
    line=$(grep -o 'ams transcode: "b" ended.*' "$SERVER_PREFIX/error.log" || true)
    stop_server
    awk -v c=$((c1 - c0)) -v tk="$TICK" -v t0="$t0" -v t1="$t1" -v l="$line" '
        BEGIN {
            d = "n/a"; m = "n/a"; p = "n/a"; x = "n/a"
            if (match(l, /[0-9]+ frames decoded/)) d = substr(l, RSTART, RLENGTH) + 0
            if (match(l, /median [0-9]+/)) m = substr(l, RSTART + 7, RLENGTH - 7)
            if (match(l, /p99 [0-9]+/)) p = substr(l, RSTART + 4, RLENGTH - 4)
            if (match(l, /[0-9]+ dropped behind/)) x = substr(l, RSTART, RLENGTH) + 0
            printf "%.2f %.2f %s %s %s %s\n", c / tk, t1 - t0, d, m, p, x
        }'
}

# "re" or "flat" -> "cpu_s wall_s"
run_ffmpeg() {
    local mode=$1 re=()
    [ "$mode" = re ] && re=(-re)
    python3 - "${re[@]}" <<EOF
import resource, subprocess, sys, time
re = sys.argv[1:]
cmd = ["ffmpeg", "-v", "error", "-nostdin"] + re + ["-i", "$SRC",
    "-filter_complex",
    "[0:v]split=3[a][b][c];[a]scale=-2:720[v720];[b]scale=-2:480[v480];"
    "[c]scale=-2:360[v360]"]
for label, rate in (("v720", "2500k"), ("v480", "1000k"), ("v360", "600k")):
    cmd += ["-map", "[" + label + "]", "-map", "0:a", "-c:v", "libx264",
            "-preset", "veryfast"] + (["-tune", "$TUNE"] if "$TUNE" else []) + [
            "-b:v", rate, "-force_key_frames",
            "source", "-forced-idr", "1", "-x264-params", "$X264_PARAMS",
            "-c:a", "copy", "-f", "null", "-"]
t = time.time()
subprocess.run(cmd, check=True)
w = time.time() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f %.2f" % (r.ru_utime + r.ru_stime, w))
EOF
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

declare -A v=()
for _ in $(seq "$REPEAT"); do
    read -r c w _ _ _ _ < <(run_ams Relay re)
    v[base]+=" $c"
    read -r c w d m p x < <(run_ams Ladder re)
    v[ams_re]+=" $c"; v[med]+=" $m"; v[p99]+=" $p"; v[drop]+=" $x"
    read -r c w < <(run_ffmpeg re)
    v[ff_re]+=" $c"
    read -r c w d m p x < <(run_ams Ladder flat)
    v[ams_fps]+=" $(awk -v d="$d" -v w="$w" 'BEGIN { printf "%.1f", (d == "n/a" ? 0 : d) / w }')"
    v[ams_flat_cpu]+=" $c"
    read -r c w < <(run_ffmpeg flat)
    v[ff_fps]+=" $(awk -v f="$FRAMES" -v w="$w" 'BEGIN { printf "%.1f", f / w }')"
    v[ff_flat_cpu]+=" $c"
done

base=$(echo "${v[base]}" | median)
ams_re=$(echo "${v[ams_re]}" | median)
ff_re=$(echo "${v[ff_re]}" | median)

per_min() { awk -v c="$1" -v s="$SECS" 'BEGIN { printf "%.1f", c / (s / 60) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

ams_net=$(awk -v a="$ams_re" -v b="$base" 'BEGIN { printf "%.2f", a - b }')
ams_min=$(per_min "$ams_net")
ff_min=$(per_min "$ff_re")
ams_fps=$(echo "${v[ams_fps]}" | median)
ff_fps=$(echo "${v[ff_fps]}" | median)

echo "# nginx-ams transcoder vs ffmpeg CLI (one command, split/scale), $(nproc) cores, $(date -u +%F)"
echo "# source: 1080p${FPS} ${SECS}s FLV ($(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$SRC") b/s), published -c copy;"
echo "# ladder 720p 2500k, 480p 1000k, 360p 600k, libx264 veryfast${TUNE:+ tune $TUNE}, IDRs at source keyframes; medians of $REPEAT"
echo
printf '%-44s %12s %12s %8s\n' "" nginx-ams ffmpeg ratio
printf '%-44s %12s %12s %8s\n' "CPU s per source minute (real time)" \
    "$ams_min" "$ff_min" "$(ratio "$ams_min" "$ff_min")"
printf '%-44s %12s %12s\n' "  (nginx: ladder run minus relay baseline)" \
    "$(per_min "$ams_re") - $(per_min "$base")" ""
printf '%-44s %12s %12s %8s\n' "frames/s, flat out" \
    "$ams_fps" "$ff_fps" "$(ratio "$ams_fps" "$ff_fps")"
printf '%-44s %12s\n' "latency bus -> every rung, median ms" \
    "$(echo "${v[med]}" | median)"
printf '%-44s %12s\n' "latency bus -> every rung, p99 ms" \
    "$(echo "${v[p99]}" | median)"
printf '%-44s %12s\n' "frames dropped behind (real time)" \
    "$(echo "${v[drop]}" | median)"
