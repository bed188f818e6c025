#!/usr/bin/env bash
# WebRTC glass-to-glass latency on loopback, headless Chromium
# (bench/webrtc_latency.js, bench/webrtc_latency.html):
#
#   rtmp-whep   ffmpeg stamps the wall clock (ms) into each frame as it
#               captures it (bench/bench_latency.sh's 45-cell bar), encodes
#               (x264 zerolatency, keyframe every second) and publishes by
#               RTMP to nginx-ams; Chromium plays by WHEP
#   whip-whep   a Chromium page draws the same bar into a canvas 30 times
#               a second and publishes it by WHIP; a second page plays by
#               WHEP
#   rtmp-hls    the peer: the same ffmpeg stream (tee) into nginx-rtmp
#               (Debian's libnginx-mod-rtmp), HLS with 2 s fragments,
#               played by hls.js (lowLatencyMode) as bench_latency.sh does
#
# Each player reads the bar of every frame it shows (now - clock, the
# first 2 s left out); the WHEP pages also give the session setup time,
# POST to the first frame shown.  BENCH_SECONDS (default 10) of playing
# per run, BENCH_REPEAT (default 3) runs of each, alternating; figures
# are medians of each run's median.  Benchmarks are not tests: they
# print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
PLAY=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
BROWSER="$ROOT/t/browser"
AMS_HTTP=15191
AMS_RTMP=19391
AMS_UDP=40190
RTMP_HTTP=15192
RTMP_RTMP=19392

[ -x /usr/bin/chromium ] && [ -d "$BROWSER/node_modules/playwright-core" ] \
    || { echo "needs chromium and t/browser/node_modules (./build.sh test)"; exit 1; }
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] \
    || { echo "needs libnginx-mod-rtmp"; exit 1; }

mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# the pages: ours, and hls.js's player for the peer (bench_latency.sh's)
WWW="$OUT/www-webrtc-latency"
rm -rf "$WWW"
mkdir -p "$WWW/www/lib/hls.js/dist"
cp "$ROOT/bench/webrtc_latency.html" "$WWW/www/"
cp "$BROWSER/node_modules/hls.js/dist/hls.min.js" "$WWW/www/lib/hls.js/dist/"
sed -e 's{src="/lib/{src="/www/lib/{' -e '/<script src=.*dashjs/d' \
    -e 's/new Hls()/new Hls({ lowLatencyMode: true })/' \
    "$BROWSER/player.html" >"$WWW/www/player.html"
chmod -R a+rX "$WWW"

AMS="$OUT/srv-webrtc-latency-ams"
RTMP="$OUT/srv-webrtc-latency-rtmp"

start_ams() {
    rm -rf "$AMS"
    bench_ams_api_conf "$AMS" "$AMS_HTTP" "$AMS_RTMP" "
    webrtc_udp_port_base   $AMS_UDP;
    webrtc_public_address  127.0.0.1;
    application LiveApp {
        delete_hls_files_on_ended  off;
    }" "location ~ ^/[^/]+/(whip|whep)/ { ams_webrtc on; }
        location /www/ { root $WWW; }"
    sed -i "s|^load_module .*ngx_ams_api_module.so;|&\nload_module $MODULES/ngx_ams_webrtc_module.so;|" \
        "$AMS/nginx.conf"
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
    -vf "$CLOCK" -c:v libx264 -preset veryfast -tune zerolatency \
    -profile:v baseline -b:v 1000k -g 30 -keyint_min 30 -sc_threshold 0 \
    -pix_fmt yuv420p -an -flags +global_header -map 0:v -f tee \
    "[f=flv:onfail=ignore]rtmp://127.0.0.1:$AMS_RTMP/LiveApp/clock|[f=flv:onfail=ignore]rtmp://127.0.0.1:$RTMP_RTMP/LiveApp/clock" \
    2>"$OUT/webrtc-latency-ffmpeg.log" &
PUB=$!

sleep 8     # a few HLS fragments for the peer

A="http://127.0.0.1:$AMS_HTTP"
PAGE="$A/www/webrtc_latency.html"

# one run of setup $1 (run number $2): "g2g_ms setup_ms"
run() {
    local json
    case $1 in
    rtmp-whep)
        json=$(node "$ROOT/bench/webrtc_latency.js" \
            "$PAGE?mode=play&url=$A/LiveApp/whep/clock" - "$PLAY" $((PLAY + 30))) ;;
    whip-whep)
        json=$(node "$ROOT/bench/webrtc_latency.js" \
            "$PAGE?mode=play&url=$A/LiveApp/whep/canvas$2" \
            "$PAGE?mode=pub&url=$A/LiveApp/whip/canvas$2" "$PLAY" $((PLAY + 40))) ;;
    rtmp-hls)
        json=$(node "$BROWSER/play_live.js" \
            "http://127.0.0.1:$RTMP_HTTP/www/player.html?kind=hls&src=http://127.0.0.1:$RTMP_HTTP/hls/clock.m3u8" \
            "$PLAY" $((PLAY + 30)) | tail -1) ;;
    esac
    echo "$json" >"$OUT/webrtc-latency-$1-$2.json"
    echo "$json" | python3 -c '
import json, statistics, sys
r = json.loads(sys.stdin.read())
if r.get("errors"):
    print("errors:", r["errors"], file=sys.stderr)
if "setup" in r:        # ours: ms, a sample a frame (2 s = 60 left out)
    g, setup = r.get("g2g", [])[60:], r.get("setup")
else:                   # play_live.js: s, two samples a second
    g, setup = [x * 1000 for x in r.get("g2g", [])[4:]], None
print("%.0f %s" % (statistics.median(g) if g else -1,
                   "%.0f" % setup if setup is not None else "n/a"))'
}

SETUPS="rtmp-whep whip-whep rtmp-hls"
declare -A G S
for i in $(seq "$REPEAT"); do
    for s in $SETUPS; do
        read -r g st < <(run "$s" "$i")
        G[$s]+="$g "
        S[$s]+="$st "
    done
done

median() { tr ' ' '\n' | grep -v '^$' | grep -v n/a | sort -g | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "n/a") }'; }

echo "# WebRTC glass-to-glass latency on loopback, headless Chromium $(chromium --version 2>/dev/null | awk '{print $2}'), $(nproc) cores, ${PLAY}s plays, medians of $REPEAT, $(date -u +%F)"
printf '%-40s %10s %14s   %s\n' setup "g2g (ms)" "setup (ms)" "runs (g2g ms)"
for s in $SETUPS; do
    case $s in
    rtmp-whep) name="nginx-ams RTMP (ffmpeg) -> WHEP" ;;
    whip-whep) name="nginx-ams WHIP (Chromium) -> WHEP" ;;
    rtmp-hls)  name="nginx-rtmp RTMP -> HLS 2s (hls.js)" ;;
    esac
    printf '%-40s %10s %14s   %s\n' "$name" "$(echo "${G[$s]}" | median)" \
        "$(echo "${S[$s]}" | median)" "${G[$s]}"
done
awk -v a="$(echo "${G[rtmp-whep]}" | median)" \
    -v r="$(echo "${G[rtmp-hls]}" | median)" 'BEGIN {
    if (r > 0) printf "ratio nginx-ams RTMP->WHEP / nginx-rtmp RTMP->HLS: %.2f\n", a / r }'
