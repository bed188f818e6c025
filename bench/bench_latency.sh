#!/usr/bin/env bash
# Glass-to-glass latency of live HLS in a real player: one ffmpeg stamps
# the wall clock (ms) into each frame as it captures it (a 45-cell bar
# along the top: bit b of the milliseconds, white for 1) and publishes the
# same encoded stream over RTMP (tee) to
#
#   ams-ll      nginx-ams, fMP4 with ll_hls on, 2 s segments, parts of
#               BENCH_PART_TIME (default 500ms, ll_hls_part_time's)
#   ams-ll333   the same with 333 ms parts
#   ams-hls     nginx-ams, plain HLS (MPEG-TS), hls_time 2s
#   ams-hls1    the same with hls_time 1s
#   rtmp-hls    nginx-rtmp-module (Debian's libnginx-mod-rtmp), HLS with
#               hls_fragment 2s
#
# (keyframes every BENCH_GOP frames, default 30: 1 s, so that 1 s
# segments can be cut; 2 s ones are cut every other keyframe)
#
# and hls.js (t/browser/node_modules, lowLatencyMode on, its defaults
# otherwise; ams-ll-sync: ams-ll in hls.js allowed to play at up to 1.5x
# to reach its target latency, maxLiveSyncPlaybackRate) plays each in
# headless Chromium, in turn, for BENCH_SECONDS
# (default 20) of playback; twice a second the page reads the clock in
# the frame on screen (t/browser/play_live.js) and takes it from its own:
# the glass-to-glass delay (publisher's capture, encode, RTMP, packaging,
# HTTP, player buffer, decode).  hls.js's own "latency" (its distance to
# the live edge it knows of) is printed beside it.  BENCH_REPEAT (default
# 3) runs of each, alternating; figures are medians of each run's median
# (the first 2 s of a run left out).  Goals (issue 10): LL-HLS under 2 s,
# plain HLS under 5 s.
#
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
PLAY=${BENCH_SECONDS:-20}
REPEAT=${BENCH_REPEAT:-3}
PART=${BENCH_PART_TIME:-500ms}
GOP=${BENCH_GOP:-30}             # frames at 30 fps between keyframes
SETUPS=${BENCH_SETUPS:-ams-ll ams-ll-sync ams-ll333 ams-hls ams-hls1 rtmp-hls}
BROWSER="$ROOT/t/browser"
AMS_RTMP=19371
AMS_HTTP=15171
RTMP_RTMP=19372
RTMP_HTTP=15172

[ -x /usr/bin/chromium ] && [ -d "$BROWSER/node_modules/playwright-core" ] \
    || { echo "needs chromium and t/browser/node_modules (./build.sh test)"; exit 1; }
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] \
    || { echo "needs libnginx-mod-rtmp"; exit 1; }

mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# the player page and hls.js, served by both servers
WWW="$OUT/www-latency"
rm -rf "$WWW"
mkdir -p "$WWW/www/lib/hls.js/dist"
cp "$BROWSER/node_modules/hls.js/dist/hls.min.js" "$WWW/www/lib/hls.js/dist/"
# hls.js in low-latency mode, reachable as window.hls
sed -e 's{src="/lib/{src="/www/lib/{' -e '/<script src=.*dashjs/d' \
    -e 's/new Hls()/new Hls({ lowLatencyMode: true })/' \
    -e '/window.hls = hls/d' \
    -e 's/^\( *\)hls.attachMedia(v);/&\n\1window.hls = hls;/' \
    "$BROWSER/player.html" >"$WWW/www/player.html"
# the same, allowed to play up to 1.5x to catch up with its target latency
sed -e 's/lowLatencyMode: true/&, maxLiveSyncPlaybackRate: 1.5/' \
    "$WWW/www/player.html" >"$WWW/www/player-sync.html"
HLSJS=$(node -p "require('$BROWSER/node_modules/hls.js/package.json').version")

AMS="$OUT/srv-latency-ams"
RTMP="$OUT/srv-latency-rtmp"

start_ams() {
    rm -rf "$AMS"
    bench_ams_api_conf "$AMS" "$AMS_HTTP" "$AMS_RTMP" "
    application LowLatency {
        hls_segment_type  fmp4;
        hls_time          2s;
        ll_hls            on;
        ll_hls_part_time  $PART;
    }
    application LowLatency333 {
        hls_segment_type  fmp4;
        hls_time          2s;
        ll_hls            on;
        ll_hls_part_time  333ms;
    }
    application LiveApp {
        hls_time          2s;
    }
    application LiveApp1 {
        hls_time          1s;
    }" "
        location ~ ^/[^/]+/streams/ {
            root  $AMS/media;
            ams_media  on;
            types {
                application/vnd.apple.mpegurl  m3u8;
                video/mp2t                     ts;
                video/mp4                      mp4 m4s;
            }
            add_header  Cache-Control  no-cache;
        }
        location /www/ { root $WWW; }"
    bench_start "$AMS"
}

start_rtmp() {
    bench_nginx_rtmp_hls "$RTMP" "$RTMP_RTMP" "$RTMP_HTTP" "$WWW"
}

cleanup() {
    [ -n "${PUB:-}" ] && kill "$PUB" 2>/dev/null || true
    bench_stop "$AMS" 2>/dev/null || true
    bench_stop "$RTMP" 2>/dev/null || true
}
trap cleanup EXIT

start_ams
start_rtmp

# the clock into the frames (bench/lib.sh)
CLOCK=$BENCH_CLOCK

ffmpeg -hide_banner -nostdin -loglevel error -re \
    -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 \
    -vf "$CLOCK" -c:v libx264 -preset veryfast -tune zerolatency \
    -b:v 1000k -g "$GOP" -keyint_min "$GOP" -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -flags +global_header -map 0:v -map 1:a -f tee \
    "$(for a in LowLatency LowLatency333 LiveApp LiveApp1; do
           printf '[f=flv:onfail=ignore]rtmp://127.0.0.1:%s/%s/clock|' \
               "$AMS_RTMP" "$a"
       done)[f=flv:onfail=ignore]rtmp://127.0.0.1:$RTMP_RTMP/LiveApp/clock" \
    2>"$OUT/latency-ffmpeg.log" &
PUB=$!

sleep 8     # a few segments everywhere

url() {
    case $1 in
    ams-ll)   echo "http://127.0.0.1:$AMS_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$AMS_HTTP/LowLatency/streams/clock.m3u8" ;;
    ams-ll333) echo "http://127.0.0.1:$AMS_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$AMS_HTTP/LowLatency333/streams/clock.m3u8" ;;
    ams-ll-sync) echo "http://127.0.0.1:$AMS_HTTP/www/player-sync.html?kind=hls&src=http://127.0.0.1:$AMS_HTTP/LowLatency/streams/clock.m3u8" ;;
    ams-hls)  echo "http://127.0.0.1:$AMS_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$AMS_HTTP/LiveApp/streams/clock.m3u8" ;;
    ams-hls1) echo "http://127.0.0.1:$AMS_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$AMS_HTTP/LiveApp1/streams/clock.m3u8" ;;
    rtmp-hls) echo "http://127.0.0.1:$RTMP_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$RTMP_HTTP/hls/clock.m3u8" ;;
    esac
}

# one run: "g2g latency" medians, seconds
run() {
    node "$BROWSER/play_live.js" "$(url "$1")" "$PLAY" $((PLAY + 30)) \
        | tail -1 | tee "$OUT/latency-$1.json" | python3 -c '
import json, statistics, sys
r = json.loads(sys.stdin.read())
if r.get("errors"):
    print("errors:", r["errors"], file=sys.stderr)
g, l = r.get("g2g", [])[4:], r.get("latency", [])[4:]
print("%.2f %.2f" % (statistics.median(g) if g else -1,
                     statistics.median(l) if l else -1))'
}

declare -A G L
for i in $(seq "$REPEAT"); do
    for s in $SETUPS; do
        read -r g l < <(run "$s")
        G[$s]+="$g "
        L[$s]+="$l "
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "# glass-to-glass latency, hls.js $HLSJS (lowLatencyMode) in headless Chromium, $(nproc) cores, ${PLAY}s plays, medians of $REPEAT, $(date -u +%F)"
printf '%-34s %10s %16s   %s\n' setup "g2g (s)" "hls.js latency" "runs (g2g)"
for s in $SETUPS; do
    case $s in
    ams-ll)   name="nginx-ams LL-HLS (parts $PART)" ;;
    ams-ll333) name="nginx-ams LL-HLS (parts 333ms)" ;;
    ams-ll-sync) name="  same, hls.js catching up (1.5x)" ;;
    ams-hls)  name="nginx-ams HLS (hls_time 2s)" ;;
    ams-hls1) name="nginx-ams HLS (hls_time 1s)" ;;
    rtmp-hls) name="nginx-rtmp HLS (hls_fragment 2s)" ;;
    esac
    printf '%-34s %10s %16s   %s\n' "$name" "$(echo "${G[$s]}" | median)" \
        "$(echo "${L[$s]}" | median)" "${G[$s]}"
done
g_ams=$(echo "${G[ams-hls]:-0}" | median)
g_rtmp=$(echo "${G[rtmp-hls]:-0}" | median)
g_ll=$(echo "${G[ams-ll]:-0}" | median)
[ "$g_rtmp" = 0 ] || awk -v a="$g_ams" -v r="$g_rtmp" -v l="$g_ll" 'BEGIN {
    printf "ratio nginx-ams HLS / nginx-rtmp HLS: %.2f; LL-HLS / nginx-rtmp HLS: %.2f\n", a / r, l / r }'
