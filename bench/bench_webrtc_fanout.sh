#!/usr/bin/env bash
# WebRTC fan-out: one stream played by N WebRTC players, on nginx-ams and
# on Janus, one after the other in the same run, same machine, same
# players (bench/ams_webrtc_load.c: ICE, DTLS, SRTP decrypted and
# counted).
#
# nginx-ams (two workers): one RTMP stream in, WHEP players, each from its
# own loopback address.  Janus (Debian's janus, 1.1.2): its streaming
# plugin, one RTP mountpoint (H.264 pt 96, video only as the input is),
# players through its HTTP API (--janus mode of the load client).  The
# input is a testsrc H.264 stream (baseline, no B-frames, keyframe every
# 2 s, video only, so no audio transform runs) encoded once by ffmpeg at
# each bitrate; nginx-ams gets it replayed at real time over RTMP by
# bench/ams_rtmp_load.c, Janus the same file's H.264 copied (not
# re-encoded) by ffmpeg -re into RTP (packetization-mode 1, packets of
# the module's size), so the same bitstream reaches both.  The feeders
# are outside the server's CPU count for both (an encoder beside the
# server would take the cores it is measured on).
#
# Each server's CPU (nginx: master and workers; Janus: its process, all
# threads; user + system from /proc) is counted over BENCH_SECONDS once
# every player has received media (at most 15 s after the ramp): CPU per player-second, and
# players per core (how many one core serves at this rate), and the
# ratio nginx-ams / Janus.  Every player of both must have received
# media, else the run is reported FAILED (exit status 1).  The
# publisher's ingest is in nginx's figure (one stream: small beside N
# players); Janus's RTP input is in its figure alike.
#
# Janus's configuration (a temp dir under build/bench): the HTTP
# transport and the streaming plugin only, BENCH_JANUS_LOOPS (default 2,
# as nginx's two workers) static event loops, half trickle, full ICE (it
# gathers no loopback candidate: its host candidate is this machine's
# first IPv4 address; traffic stays local), no STUN server, log level
# warnings (nginx's error_log is at warn).
#
# BENCH_PLAYERS (default "100 200 400"), BENCH_RATES (default "600 1500",
# kb/s), BENCH_SECONDS (default 20), BENCH_REPEAT (default 1: each repeat
# runs nginx-ams then Janus; medians of the repeats are printed).
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
JANUS_HTTP=15188
JANUS_RTP=15190
JANUS_LOOPS=${BENCH_JANUS_LOOPS:-2}
JOIN_MAX=15                     # s after the ramp for every player to join

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_load_client
W="$ROOT/ngx_ams_webrtc"
cc -O2 -Wall -I"$W" -o "$OUT/ams_webrtc_load" "$ROOT/bench/ams_webrtc_load.c" \
    "$W/ngx_ams_stun.c" "$W/ngx_ams_dtls.c" "$W/ngx_ams_srtp.c" \
    "$W/ngx_ams_sdp.c" "$W/ngx_ams_sdp_answer.c" -lsrtp2 -lssl -lcrypto -lz

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

J="$OUT/srv-janus"
JLIB=/usr/lib/x86_64-linux-gnu/janus

# Janus with the HTTP transport and the streaming plugin only (their own
# folders: Janus loads every plugin it finds), one RTP mountpoint
start_janus() {
    local ip enforce=
    rm -rf "$J"
    mkdir -p "$J/plugins" "$J/transports" "$J/events" "$J/loggers"
    ln -s "$JLIB/plugins/libjanus_streaming.so" "$J/plugins/"
    ln -s "$JLIB/transports/libjanus_http.so" "$J/transports/"
    ip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 \
        | head -1)
    [ -n "$ip" ] && enforce="ice_enforce_list = \"$ip\""
    cat >"$J/janus.jcfg" <<CONF
general: {
    configs_folder = "$J"
    plugins_folder = "$J/plugins"
    transports_folder = "$J/transports"
    events_folder = "$J/events"
    loggers_folder = "$J/loggers"
    debug_level = 3
    event_loops = $JANUS_LOOPS
    session_timeout = 60
    server_name = "bench"
}
media: {
    rtp_port_range = "50000-60000"
}
nat: {
    nice_debug = false
    full_trickle = false
    ice_lite = false
    ice_tcp = false
    ipv6 = false
    $enforce
}
plugins: {}
transports: {}
events: {}
loggers: {}
CONF
    cat >"$J/janus.transport.http.jcfg" <<CONF
general: {
    json = "compact"
    base_path = "/janus"
    http = true
    port = $JANUS_HTTP
    ip = "127.0.0.1"
    https = false
}
admin: { admin_http = false }
CONF
    cat >"$J/janus.plugin.streaming.jcfg" <<CONF
general: { }
bench: {
    type = "rtp"
    id = 1
    description = "bench"
    media = (
        {
            type = "video"
            mid = "v"
            label = "video"
            port = $JANUS_RTP
            pt = 96
            codec = "h264"
            fmtp = "profile-level-id=42e01f;packetization-mode=1"
        }
    )
}
CONF
    janus -C "$J/janus.jcfg" -F "$J" -o >"$J/janus.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$JANUS_HTTP/janus/info" >/dev/null && break
        sleep 0.1
    done
}

stop_janus() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

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
# setup_ms mbps system_percent all_joined_ms"; SERVER ams or janus
run() {
    local server=$1 kbps=$2 n=$3 ramp u0 s0 u1 s1 feed players
    local log="$OUT/webrtc-fanout-$1-$2-$3.txt"
    ramp=$((n / RAMP + 3))
    if [ "$server" = ams ]; then
        start_ams
        "$OUT/ams_rtmp_load" publish "$RTMP" LiveApp fan 1 \
            $((ramp + JOIN_MAX + SECONDS_RUN + 10)) "$INPUT" >/dev/null &
        feed=$!
    else
        start_janus
        # the same H.264, copied: Annex B with SPS/PPS at each IDR (a
        # viewer joins mid-stream), packets of the module's size (1100
        # bytes of payload and the RTP header)
        ffmpeg -v error -nostdin -re -i "$INPUT" \
            -t $((ramp + JOIN_MAX + SECONDS_RUN + 10)) \
            -c:v copy -bsf:v h264_mp4toannexb -an -f rtp -payload_type 96 \
            "rtp://127.0.0.1:$JANUS_RTP?pkt_size=1112" >/dev/null 2>&1 &
        feed=$!
    fi
    sleep 3
    # the players run until told (SIGTERM), at most this long
    if [ "$server" = ams ]; then
        "$OUT/ams_webrtc_load" "$HTTP" LiveApp fan "$n" \
            $((ramp + JOIN_MAX + SECONDS_RUN + 1)) "$RAMP" \
            >"$log" 2>"$log.err" &
    else
        "$OUT/ams_webrtc_load" --janus "http://127.0.0.1:$JANUS_HTTP/janus" \
            --mountpoint 1 "$n" $((ramp + JOIN_MAX + SECONDS_RUN + 1)) \
            "$RAMP" >"$log" 2>"$log.err" &
    fi
    players=$!
    # the count begins once every player has media (the client says so),
    # at the earliest after the ramp, at the latest JOIN_MAX s after it:
    # a server slow to admit is not counted for fewer players
    sleep "$ramp"
    for _ in $(seq $((JOIN_MAX * 10))); do
        grep -q '^all_receiving_ms' "$log.err" && break
        sleep 0.1
    done
    read -r u0 s0 < <(cpu_ticks)
    sleep "$SECONDS_RUN"
    read -r u1 s1 < <(cpu_ticks)
    kill -TERM $players 2>/dev/null || true
    wait $players || true
    kill $feed 2>/dev/null || true
    wait $feed 2>/dev/null || true
    if [ "$server" = ams ]; then bench_stop "$P"; else stop_janus; fi
    awk -v c=$((u1 + s1 - u0 - s0)) -v sys=$((s1 - s0)) -v t="$TICK" -v n="$n" -v s="$SECONDS_RUN" \
        -v rx="$(field receiving "$log")" -v min="$(field packets_min "$log")" \
        -v setup="$(field setup_median_ms "$log")" \
        -v join="$(awk '$1 == "all_receiving_ms" {print $2}' "$log.err")" \
        -v bytes="$(field bytes "$log")" -v all="$(field elapsed_ms "$log")" \
        'BEGIN { cpu = c / t; if (cpu <= 0) cpu = 1 / t
                 printf "%.0f %.0f %s %s %s %.1f %.0f %s\n", n * s / cpu,
                        cpu * 1e6 / (n * s), (rx == "" ? 0 : rx),
                        (min == "" ? 0 : min), (setup == "" ? -1 : setup),
                        bytes * 8 / 1e3 / (all > 0 ? all : 1),
                        (c > 0 ? 100 * sys / c : 0),
                        (join == "" ? -1 : join) }'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }

failed=0
echo "# WebRTC fan-out, one stream: nginx-ams (WHEP, RTMP in, 2 workers) vs Janus $(dpkg-query -W -f='${Version}' janus 2>/dev/null) (streaming plugin, RTP in, $JANUS_LOOPS event loops), $(nproc) cores, ${SECONDS_RUN}s counted after the players joined, medians of $REPEAT (each: nginx-ams, then Janus), $(date -u '+%F %H:%M') UTC"
printf '%-16s %9s %9s %6s %7s %7s %9s %9s %9s %7s\n' "rate, players" \
    "ams p/c" "janus p/c" ratio "ams rx" "jns rx" "min pkts" "setup ms" \
    "Mb/s rx" "sys %"
for kbps in $RATES; do
    input_flv "$kbps" 120
    for n in $PLAYERS; do
        declare -A v=()
        for _ in $(seq "$REPEAT"); do
            for server in ams janus; do
                read -r ppc us rx min setup mbps sys join \
                    < <(run "$server" "$kbps" "$n")
                v[$server.ppc]+=" $ppc"; v[$server.rx]+=" $rx"
                v[$server.min]+=" $min"; v[$server.setup]+=" $setup"
                v[$server.mbps]+=" $mbps"; v[$server.sys]+=" $sys"
                v[$server.runs]+=" $ppc"
                v[$server.join]+=" $join"
                # every player must have received media
                if [ "$rx" -lt "$n" ] || [ "$min" -le 0 ]; then
                    failed=1
                    echo "# FAILED: $server, $kbps kb/s, $n players: $rx receiving, fewest packets $min (see $OUT/webrtc-fanout-$server-$kbps-$n.txt.err)"
                fi
            done
        done
        a=$(echo "${v[ams.ppc]}" | median)
        j=$(echo "${v[janus.ppc]}" | median)
        printf '%-16s %9s %9s %6s %7s %7s %9s %9s %9s %7s\n' "${kbps} kb/s, $n" \
            "$a" "$j" "$(awk -v a="$a" -v j="$j" 'BEGIN { printf "%.2f", (j > 0 ? a / j : 0) }')" \
            "$(echo "${v[ams.rx]}" | median)/$n" "$(echo "${v[janus.rx]}" | median)/$n" \
            "$(echo "${v[ams.min]}" | median)/$(echo "${v[janus.min]}" | median)" \
            "$(echo "${v[ams.setup]}" | median)/$(echo "${v[janus.setup]}" | median)" \
            "$(echo "${v[ams.mbps]}" | median)/$(echo "${v[janus.mbps]}" | median)" \
            "$(echo "${v[ams.sys]}" | median)/$(echo "${v[janus.sys]}" | median)"
        echo "#   runs, players/core: nginx-ams${v[ams.runs]}; Janus${v[janus.runs]}; all joined after (ms): nginx-ams${v[ams.join]}; Janus${v[janus.join]}"
        unset v
    done
done
echo "# p/c: players per core; ratio: nginx-ams / Janus (goal >= 3); pairs: nginx-ams/Janus"
echo "# goal (issue): >= 2000 players/core at 600 kb/s"
exit $failed
