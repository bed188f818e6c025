#!/usr/bin/env bash
# The nginx-ams container image beside Debian's nginx alone, in the same
# run: the peer is built here from the same base (apt-get install nginx,
# nothing else), so the differences are what the modules, their runtime
# libraries and the entrypoint cost.
#
#   size      podman image inspect .Size, ours / peer, and ours - peer
#   start     podman run -d until the first HTTP 200 on a published port
#             (ours GET /rest/v2/liveness on 5080, the peer GET / on 8080),
#             median of BENCH_REPEAT (default 5) runs each, alternating
#   memory    the container's memory (podman stats) once it has served,
#             idle, median over the same runs (cgroup charge: pages the
#             container touched first; the host page cache is not counted)
#   hls       ours only: podman run until the first HLS playlist of an
#             RTMP publish (ffmpeg testsrc2 640x360 -re), median of
#             BENCH_HLS_REPEAT (default 3; 0 skips it)
#
# The peer runs as Debian ships it: master as root, workers www-data,
# listening on 8080.  Ours runs as its image says (user ams).
# Needs podman as root and localhost/debian:bookworm (made by debootstrap
# when missing, as t/lib/Ams/Podman.pm does).  Benchmarks print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPEAT=${BENCH_REPEAT:-5}
HLS_REPEAT=${BENCH_HLS_REPEAT:-3}
BASE=${AMS_IMAGE_BASE:-localhost/debian:bookworm}
OURS=localhost/nginx-ams:bench
PEER=localhost/nginx-ams-bench-peer:$$
HTTP=35080 RTMP=35935 PEER_HTTP=38080
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/t/container/containers.conf}

command -v podman >/dev/null || { echo "podman is needed (./build.sh deps)"; exit 1; }

TMP=$(mktemp -d)
NAMES=()
cleanup() {
    [ ${#NAMES[@]} -eq 0 ] || podman rm -f -t 0 "${NAMES[@]}" >/dev/null 2>&1 || true
    podman rmi -f "$PEER" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT

if ! podman image exists "$BASE"; then
    echo "== making $BASE with debootstrap"
    debootstrap --variant=minbase bookworm "$TMP/root" \
        "${AMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$TMP/deboot.log" 2>&1
    tar -C "$TMP/root" -c . | podman import -q - "$BASE" >/dev/null
    rm -rf "$TMP/root"
fi

build() {   # CONTEXT TAG [DOCKERFILE]: prints the seconds it took
    local t0=$EPOCHREALTIME
    podman build --network host --format docker --build-arg "BASE=$BASE" \
        -t "$2" ${3:+-f "$3"} "$1" >"$TMP/build.log" 2>&1 \
        || { tail -30 "$TMP/build.log" >&2; exit 1; }
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# the peer: Debian's nginx and its default site, moved to 8080
mkdir -p "$TMP/peer"
cat >"$TMP/peer/Dockerfile" <<'DOCKERFILE'
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
    && sed -i 's/listen 80 default_server/listen 8080 default_server/; s/listen \[::\]:80 default_server/listen [::]:8080 default_server/' \
        /etc/nginx/sites-available/default
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE

echo "== building $OURS (top-level Dockerfile) and the peer $PEER"
B_OURS=$(build "$ROOT" "$OURS")
B_PEER=$(build "$TMP/peer" "$PEER")
echo "build: ours ${B_OURS}s (layer cache), peer ${B_PEER}s"

size() { podman image inspect --format '{{.Size}}' "$1"; }
S_OURS=$(size "$OURS"); S_PEER=$(size "$PEER"); S_BASE=$(size "$BASE")

code() {   # URL: the HTTP status, 000 when nothing answers within 1 s
    curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1" || true
}

# poll_200 URL LIMIT: seconds since T0 until URL answers 200; fails at LIMIT
poll_200() {
    local url=$1 limit=$2 now
    while :; do
        [ "$(code "$url")" = 200 ] && break
        now=$EPOCHREALTIME
        awk -v a="$T0" -v b="$now" -v l="$limit" 'BEGIN { exit !(b - a > l) }' && return 1
        sleep 0.05
    done
    awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}

mem_mb() {   # NAME: the container's memory in MB (podman stats)
    podman stats --no-stream --no-reset --format '{{.MemUsage}}' "$1" \
        | awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-zA-Z]+$/, "", v);
                 f = (u ~ /^[kK]/) ? 0.001 : (u ~ /^G/) ? 1000 : (u ~ /^M/) ? 1 : 1e-6;
                 printf "%.1f", v * f }'
}

run_one() {   # ours|peer RUN: appends to START_* and MEM_*
    local who=$1 i=$2 name t
    name=bench-$who-$$-$i
    NAMES+=("$name")
    T0=$EPOCHREALTIME
    if [ "$who" = ours ]; then
        podman run -d --name "$name" -p "127.0.0.1:$HTTP:5080" "$OURS" >/dev/null 2>>"$TMP/podman.log"
        t=$(poll_200 "http://127.0.0.1:$HTTP/rest/v2/liveness" 60) || t=fail
    else
        podman run -d --name "$name" -p "127.0.0.1:$PEER_HTTP:8080" "$PEER" >/dev/null 2>>"$TMP/podman.log"
        t=$(poll_200 "http://127.0.0.1:$PEER_HTTP/" 60) || t=fail
    fi
    sleep 3   # idle after serving, before reading its memory
    local m; m=$(mem_mb "$name")
    [ "$i" = 1 ] && PROCS[$who]=$(podman top "$name" pid 2>/dev/null | tail -n +2 | wc -l)
    podman rm -f -t 0 "$name" >/dev/null 2>>"$TMP/podman.log"
    if [ "$who" = ours ]; then START_OURS+="$t "; MEM_OURS+="$m "; else START_PEER+="$t "; MEM_PEER+="$m "; fi
}

START_OURS= START_PEER= MEM_OURS= MEM_PEER=
declare -A PROCS
for i in $(seq "$REPEAT"); do
    run_one ours "$i"
    run_one peer "$i"
done

# ours: podman run, liveness, then an RTMP publish until its HLS playlist
HLS=
for i in $(seq "$HLS_REPEAT"); do
    name=bench-hls-$$-$i
    NAMES+=("$name")
    T0=$EPOCHREALTIME
    podman run -d --name "$name" -p "127.0.0.1:$HTTP:5080" \
        -p "127.0.0.1:$RTMP:1935" "$OURS" >/dev/null 2>>"$TMP/podman.log"
    poll_200 "http://127.0.0.1:$HTTP/rest/v2/liveness" 60 >/dev/null || { HLS+="fail "; continue; }
    ffmpeg -v error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
        -f lavfi -i sine=frequency=440:sample_rate=44100 -t 20 \
        -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p -c:a aac \
        -f flv "rtmp://127.0.0.1:$RTMP/LiveApp/cam1" >"$TMP/ffmpeg.log" 2>&1 &
    FF=$!
    t=$(poll_200 "http://127.0.0.1:$HTTP/LiveApp/streams/cam1.m3u8" 60) || t=fail
    HLS+="$t "
    kill "$FF" 2>/dev/null || true
    wait "$FF" 2>/dev/null || true
    podman rm -f -t 0 "$name" >/dev/null 2>>"$TMP/podman.log"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1e6 }'; }

SO=$(echo "$START_OURS" | median); SP=$(echo "$START_PEER" | median)
MO=$(echo "$MEM_OURS" | median); MP=$(echo "$MEM_PEER" | median)

echo
echo "== container image (ours $OURS, peer: Debian 12 nginx alone, same base, same run)"
printf "%-40s %12s %12s %7s\n" "" "nginx-ams" "peer" "ratio"
printf "%-40s %12s %12s %7s\n" "image size (MB)" "$(mb "$S_OURS")" "$(mb "$S_PEER")" "$(ratio "$S_OURS" "$S_PEER")"
printf "%-40s %12s\n" "modules + libraries + entrypoint (MB)" "$(mb $((S_OURS - S_PEER)))"
printf "%-40s %12s %12s\n" "  above the base image (MB)" "$(mb $((S_OURS - S_BASE)))" "$(mb $((S_PEER - S_BASE)))"
printf "%-40s %12s %12s %7s\n" "run -d to first 200 (s, median of $REPEAT)" "$SO" "$SP" "$(ratio "$SO" "$SP")"
printf "%-40s %12s %12s %7s\n" "idle memory after serving (MB, median)" "$MO" "$MP" "$(ratio "$MO" "$MP")"
printf "%-40s %12s %12s\n" "  processes in the container" "${PROCS[ours]}" "${PROCS[peer]}"
[ "$HLS_REPEAT" -gt 0 ] && \
printf "%-40s %12s\n" "run to first HLS playlist (s, median $HLS_REPEAT)" "$(echo "$HLS" | median)"
echo "runs: start ours $START_OURS| peer $START_PEER| memory ours $MEM_OURS| peer $MEM_PEER| hls $HLS"
