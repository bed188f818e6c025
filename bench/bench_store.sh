#!/usr/bin/env bash
# The store under a publisher's feet.
#
#  1. Publish-start to record-visible: an RTMP client sends "publish"; for
#     nginx-ams the clock stops when GET broadcasts/{id} answers
#     "broadcasting"; for the peer, nginx-rtmp (Debian's libnginx-mod-rtmp),
#     when its on_publish callback reaches a local listener (how an
#     nginx-rtmp user learns a stream exists).  Median of BENCH_TRIES (20).
#  2. 500 live streams refreshing their records every 10 s (ams_rtmp_load
#     replaying a small FLV): how many records are fresh (updateTime within
#     12 s), and the store's update ceiling (wrk PUT, as bench_rest.sh)
#     with those streams live beside the same figure with none.
#
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
TRIES=${BENCH_TRIES:-20}
STREAMS=${BENCH_STREAMS:-500}
RTMP_PORT=19351
HTTP_PORT=15081
HOOK_PORT=15082

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client

SMALL="$OUT/small.flv"
[ -s "$SMALL" ] || ffmpeg -v error -y -f lavfi -i testsrc2=size=160x90:rate=10 \
    -t 90 -c:v libx264 -preset veryfast -b:v 40k -g 20 -pix_fmt yuv420p \
    -an -f flv "$SMALL"

ams_conf() {
    bench_ams_api_conf "$1" "$HTTP_PORT" "$RTMP_PORT" \
        "bus_zone_size 512m; stream_buffer 256k; application LiveApp { hls off; }"
}

median() { sort -n | awk '$1 >= 0 {a[++n]=$1} END {print n ? a[int((n+1)/2)] : -1}'; }

# --- 1. publish-start to record-visible ------------------------------------

P="$OUT/srv-store"
rm -rf "$P"; mkdir -p "$P"
ams_conf "$P"
bench_start "$P"
AMS_MS=$(perl "$ROOT/bench/store_latency.pl" ams $RTMP_PORT $HTTP_PORT "$TRIES" | median)
bench_stop "$P"

R="$OUT/srv-store-rtmp"
rm -rf "$R"; mkdir -p "$R"
cat >"$R/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes  2;
pid               $R/nginx.pid;
error_log         $R/error.log warn;
events { worker_connections 1024; }
rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        application LiveApp {
            live on;
            on_publish http://127.0.0.1:$HOOK_PORT/on_publish;
        }
    }
}
CONF
bench_start "$R"
RTMP_MS=$(perl "$ROOT/bench/store_latency.pl" rtmp $RTMP_PORT $HOOK_PORT "$TRIES" | median)
bench_stop "$R"

# --- 2. 500 live streams refreshing -----------------------------------------

put_rate() {
    cat >"$OUT/put-store.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("PUT", string.format(
        "/LiveApp/rest/v2/broadcasts/s%d", n % 400 + 1),
        { ["Content-Type"] = "application/json" },
        '{"description":"update ' .. n .. '"}')
end
LUA
    wrk -t2 -c32 -d10s -s "$OUT/put-store.lua" "http://127.0.0.1:$HTTP_PORT" \
        2>/dev/null | awk '/^Requests\/sec/ {printf "%d", $2}'
}

rm -rf "$P"; mkdir -p "$P"
ams_conf "$P"
bench_start "$P"
perl "$ROOT/bench/fill_records.pl" "$HTTP_PORT" 400 s >/dev/null
IDLE_PUT=$(put_rate)

"$OUT/ams_rtmp_load" publish $RTMP_PORT LiveApp s "$STREAMS" 60 "$SMALL" \
    >"$OUT/store-load.txt" 2>&1 &
LOAD=$!
sleep 30
LIVE_PUT=$(put_rate)
FRESH=$(curl -s "http://127.0.0.1:$HTTP_PORT/LiveApp/rest/v2/broadcasts/list/0/250?sort_by=name" \
    "http://127.0.0.1:$HTTP_PORT/LiveApp/rest/v2/broadcasts/list/250/250?sort_by=name" \
    | perl -MJSON::PP -MTime::HiRes=time -0777 -ne '
        my $now = time * 1000; my ($n, $fresh) = (0, 0);
        for my $doc (/(\[.*?\])(?=\[|\z)/sg) {
            for my $b (@{ decode_json($doc) }) {
                $n++;
                $fresh++ if $b->{status} eq "broadcasting"
                    && $now - $b->{updateTime} < 12000;
            }
        }
        print "$fresh/$n";')
wait $LOAD || true
bench_stop "$P"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

echo
echo "== store (2 workers, medians)"
printf "%-48s %10s %12s %7s\n" "" "nginx-ams" "nginx-rtmp" "ratio"
printf "%-48s %10s %12s %7s\n" "publish -> stream known (ms; record / on_publish)" \
    "$AMS_MS" "$RTMP_MS" "$(ratio "$AMS_MS" "$RTMP_MS")"
echo
echo "$STREAMS live streams: records fresh (updateTime < 12 s old): $FRESH"
printf "store updates/s (wrk PUT): %s with %s live streams, %s with none (%s)\n" \
    "$LIVE_PUT" "$STREAMS" "$IDLE_PUT" "$(ratio "$LIVE_PUT" "$IDLE_PUT")"
echo "(the refresh itself needs $((STREAMS / 10)) updates/s)"
