#!/usr/bin/env bash
# nginx-ams: install dependencies, build the dynamic modules, run, test, fuzz.
#
#   ./build.sh                build the modules into build/modules/ and the
#                             unit tests; ./build.sh modules: the modules only
#   ./build.sh deps-build     only install what building the modules needs
#   ./build.sh run [CONF]     build, then run nginx in the foreground with
#                             the operator's configuration CONF (default
#                             conf/nginx.conf), made from examples/ once,
#                             when it does not exist, never overwritten
#   ./build.sh reload [CONF]  test CONF, then reload the running server
#   ./build.sh stop [CONF]    graceful stop (live records are finished),
#                             waiting until nginx has exited
#   ./build.sh conf [CONF]    only make CONF from examples/ when absent
#   ./build.sh test           install test deps, build, run the whole suite
#   ./build.sh fuzz [S]       run every libFuzzer target for S seconds (60)
#   ./build.sh bench          run the benchmarks in bench/
#
# Environment: NGINX_SRC=/path builds against another nginx source tree;
# AMS_ASAN=1 builds the modules with AddressSanitizer (tests preload libasan);
# CI=true turns warnings into errors; AMS_PREFIX=/path is where the server
# of run writes logs, media, the store and its pid file (build/run);
# AMS_NO_BUILD=1 makes run use the modules already built.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD="$ROOT/build"
[ "${AMS_ASAN:-0}" = 1 ] && BUILD="$ROOT/build-asan"
MODULES="ngx_ams_core_module ngx_ams_ingest_module ngx_ams_packager_module
    ngx_ams_api_module ngx_ams_cluster_module ngx_ams_transcode_module
    ngx_ams_webrtc_module"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_pkgs() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        local sudo=
        [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

deps_build() {
    need_pkgs build-essential pkg-config nginx nginx-dev libnginx-mod-stream \
        libssl-dev libpcre2-dev zlib1g-dev \
        libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
        libswresample-dev libsqlite3-dev libjansson-dev libmongoc-dev \
        libsrtp2-dev libusrsctp-dev
}

deps_test() {
    deps_build
    need_pkgs ffmpeg openssl perl curl clang libclang-rt-14-dev chromium sqlite3 \
        prometheus
    # the WebRTC tests' other peer (t/webrtc/*.py, run by Debian's python3)
    need_pkgs python3-aiortc python3-numpy
    # the image and compose tests (t/container.t, t/compose.t): podman
    # with runc and netavark, debootstrap for a local base image
    need_pkgs podman runc netavark aardvark-dns podman-compose debootstrap
    command -v node >/dev/null && command -v npm >/dev/null \
        || need_pkgs nodejs npm
    # hls.js, dash.js and playwright-core for the browser tests, pinned by
    # t/browser/package-lock.json
    if [ ! -d "$ROOT/t/browser/node_modules/playwright-core" ] \
        || [ "$ROOT/t/browser/package-lock.json" -nt "$ROOT/t/browser/node_modules" ]; then
        log "installing the browser test packages"
        (cd "$ROOT/t/browser" && npm ci --silent --no-audit --no-fund)
    fi
    # a MongoDB wire server in JavaScript for the MongoDB store tests
    # (t/lib/Ams/Mongo.pm), pinned by t/mongo/package-lock.json; its unused
    # dependencies are overridden by empty local packages (they name
    # versions the registry lacks), so no install script runs
    if [ ! -d "$ROOT/t/mongo/node_modules/@push.rocks/smartmongo" ] \
        || [ "$ROOT/t/mongo/package-lock.json" -nt "$ROOT/t/mongo/node_modules" ]; then
        log "installing the MongoDB wire server for the tests"
        (cd "$ROOT/t/mongo" && npm ci --silent --no-audit --no-fund \
            --ignore-scripts)
    fi
    # Kubernetes' API schemas (kubernetes-models) and a YAML parser for
    # t/k8s_manifests.t, pinned by t/k8s/package-lock.json
    if [ ! -d "$ROOT/t/k8s/node_modules/kubernetes-models" ] \
        || [ "$ROOT/t/k8s/package-lock.json" -nt "$ROOT/t/k8s/node_modules" ]; then
        log "installing the Kubernetes schemas for the tests"
        (cd "$ROOT/t/k8s" && npm ci --silent --no-audit --no-fund \
            --ignore-scripts)
    fi
}

deps_bench() {
    deps_test
    need_pkgs libnginx-mod-rtmp wrk janus
}

build() {
    build_modules
    build_unit
}

build_modules() {
    deps_build
    local src=${NGINX_SRC:-/usr/share/nginx/src}
    local tree="$BUILD/nginx"
    local cflags="-g -O2 -fPIC -Wall -Wextra -Wno-unused-parameter"
    local ldflags=""
    [ "${CI:-}" = true ] && cflags="$cflags -Werror"
    if [ "${AMS_ASAN:-0}" = 1 ]; then
        cflags="$cflags -fsanitize=address -fno-omit-frame-pointer"
        ldflags="-fsanitize=address"
    fi

    mkdir -p "$BUILD/modules"
    local stamp="$BUILD/configure.stamp"
    # the WebRTC module's sources are every .c of its directory (config):
    # a file added or removed needs a new configure
    local want="$src|$cflags|$ldflags|$(ls "$ROOT"/ngx_ams_webrtc/*.[ch] \
        | md5sum | cut -c1-12)"
    if [ ! -f "$tree/objs/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] \
        || [ "$ROOT/config" -nt "$tree/objs/Makefile" ]; then
        log "configuring against $src"
        rm -rf "$tree"
        cp -r "$src" "$tree"
        chmod -R u+w "$tree"
        local flags=()
        if [ -f "$tree/conf_flags" ]; then
            # Debian's nginx-dev: the configure flags of the packaged binary.
            # shellcheck disable=SC1091
            source "$tree/conf_flags"
            flags=("${NGX_CONF_FLAGS[@]}")
        else
            flags=(--with-compat --with-threads --with-http_ssl_module)
        fi
        (cd "$tree" && ./configure "${flags[@]}" --with-stream=dynamic \
            --with-stream_ssl_module \
            --with-cc-opt="$cflags" --with-ld-opt="$ldflags" \
            --add-dynamic-module="$ROOT" >"$BUILD/configure.log" 2>&1) \
            || { tail -30 "$BUILD/configure.log"; exit 1; }
        echo "$want" >"$stamp"
    fi
    log "building modules"
    local targets=()
    for m in $MODULES; do targets+=("objs/$m.so"); done
    (cd "$tree" && make -s -f objs/Makefile -j"$(nproc)" "${targets[@]}")
    for m in $MODULES; do
        # a new file, never one rewritten in place: a running nginx has
        # the old one mapped, and its workers would crash at their next fork
        cmp -s "$tree/objs/$m.so" "$BUILD/modules/$m.so" && continue
        cp "$tree/objs/$m.so" "$BUILD/modules/.$m.so.new"
        mv -f "$BUILD/modules/.$m.so.new" "$BUILD/modules/$m.so"
    done
}

# Code that does not need nginx (parsers, the ring, muxers) is also built
# into small C programs: unit tests (TAP) and libFuzzer targets.
PURE_SRCS="ngx_ams_core/ngx_ams_ring.c ngx_ams_core/ngx_ams_avc.c
    ngx_ams_core/ngx_ams_aac.c ngx_ams_ingest/ngx_ams_rtmp_handshake.c
    ngx_ams_ingest/ngx_ams_rtmp_chunk.c ngx_ams_ingest/ngx_ams_amf0.c
    ngx_ams_ingest/ngx_ams_flv.c ngx_ams_packager/ngx_ams_ts_mux.c ngx_ams_packager/ngx_ams_mp4_mux.c
    ngx_ams_packager/ngx_ams_hls.c ngx_ams_packager/ngx_ams_cmaf.c
    ngx_ams_packager/ngx_ams_m3u8.c ngx_ams_packager/ngx_ams_mpd.c
    ngx_ams_packager/ngx_ams_adaptive.c
    ngx_ams_packager/ngx_ams_file.c ngx_ams_packager/ngx_ams_sweep.c
    ngx_ams_core/ngx_ams_jwt.c ngx_ams_core/ngx_ams_node_token.c
    ngx_ams_core/ngx_ams_broadcast_schema.c ngx_ams_api/ngx_ams_media_name.c
    ngx_ams_core/ngx_ams_handoff.c ngx_ams_core/ngx_ams_stream_index.c
    ngx_ams_core/ngx_ams_store_sql.c ngx_ams_core/ngx_ams_log_escape.c
    ngx_ams_core/ngx_ams_stream_name.c ngx_ams_api/ngx_ams_viewer_cookie.c
    ngx_ams_core/ngx_ams_settings_value.c
    ngx_ams_cluster/ngx_ams_mongo_bson.c
    ngx_ams_transcode/ngx_ams_ladder.c
    ngx_ams_transcode/ngx_ams_transcode_engine.c
    ngx_ams_transcode/ngx_ams_tc_avcc.c ngx_ams_transcode/ngx_ams_tc_audio_hold.c
    ngx_ams_transcode/ngx_ams_tc_latency.c
    ngx_ams_transcode/ngx_ams_audio_convert.c"
# the WebRTC module's nginx-free files (those present)
for s in stun sdp sdp_answer rtp rtcp rtp_h264 jitter dtls srtp ws sctp dcep rung; do
    [ -f "$ROOT/ngx_ams_webrtc/ngx_ams_$s.c" ] \
        && PURE_SRCS="$PURE_SRCS ngx_ams_webrtc/ngx_ams_$s.c"
done
PURE_INCS="-I$ROOT/ngx_ams_core -I$ROOT/ngx_ams_ingest -I$ROOT/ngx_ams_packager
    -I$ROOT/ngx_ams_api -I$ROOT/ngx_ams_cluster -I/usr/include/libbson-1.0
    -I$ROOT/ngx_ams_transcode -I$ROOT/ngx_ams_webrtc"
# what the pure libav code (the transcoder's engine, the audio converter)
# links with
PURE_LIBS="-lavcodec -lswscale -lswresample -lavutil -lsrtp2 -lssl -lusrsctp"

# Each pure source compiled once into $1 (with compiler $2 and the flags
# after it), on every core, rather than once per test program: prints
# the objects.  A header change anywhere rebuilds them all.
pure_objects() {
    local dir=$1 compiler=$2
    shift 2
    mkdir -p "$dir"
    local newest
    newest=$(find "$ROOT" -path "$ROOT/build*" -prune -o -name '*.h' \
        -newer "$dir/.stamp" -print -quit 2>/dev/null)
    [ -f "$dir/.stamp" ] && [ -z "$newest" ] || rm -f "$dir"/*.o
    for s in $PURE_SRCS; do
        local o="$dir/$(echo "$s" | tr / _).o"
        [ -f "$o" ] && [ "$o" -nt "$ROOT/$s" ] && continue
        printf '%s\0%s\0' "$ROOT/$s" "$o"
    done | xargs -0 -r -n 2 -P "$(nproc)" sh -c \
        "$compiler $* $(echo $PURE_INCS) -c -o \"\$1\" \"\$0\"" \
        || return 1
    touch "$dir/.stamp"
    for s in $PURE_SRCS; do echo "$dir/$(echo "$s" | tr / _).o"; done
}

build_unit() {
    local out="$BUILD/unit" objs
    mkdir -p "$out"
    local cflags="-g -O1 -Wall -Wextra -Wno-unused-parameter"
    [ "${CI:-}" = true ] && cflags="$cflags -Werror"
    [ "${AMS_ASAN:-0}" = 1 ] && cflags="$cflags -fsanitize=address,undefined"
    # shellcheck disable=SC2086
    objs=$(pure_objects "$out/obj" cc $cflags) || exit 1
    for t in "$ROOT"/t/unit/test_*.c; do
        [ -e "$t" ] || continue
        printf '%s\0' "$t"
    done | xargs -0 -r -n 1 -P "$(nproc)" sh -c \
        "cc $cflags $(echo $PURE_INCS) -I$ROOT/t/unit -o $out/\$(basename \"\$0\" .c) \"\$0\" $(echo $objs) -lcrypto -ljansson -lsqlite3 -lbson-1.0 $PURE_LIBS -lpthread -lm" \
        || exit 1
    # a MongoDB client for t/store_mongo.t (not a unit test: it needs a
    # server)
    # shellcheck disable=SC2086,SC2046
    cc $cflags $PURE_INCS -o "$out/mongo_tool" "$ROOT/t/mongo/mongo_tool.c" \
        "$ROOT/ngx_ams_cluster/ngx_ams_mongo_bson.c" \
        $(pkg-config --cflags --libs libmongoc-1.0) -ljansson -lm
}

build_fuzz() {
    local out="$BUILD/fuzz" objs
    mkdir -p "$out"
    # the library code instrumented for coverage, libFuzzer's main linked
    # into each target
    objs=$(pure_objects "$out/obj" clang -g -O1 \
        -fsanitize=fuzzer-no-link,address,undefined) || exit 1
    for f in "$ROOT"/fuzz/fuzz_*.c; do
        printf '%s\0' "$f"
    done | xargs -0 -r -n 1 -P "$(nproc)" sh -c \
        "clang -g -O1 -fsanitize=fuzzer,address,undefined $(echo $PURE_INCS) -o $out/\$(basename \"\$0\" .c) \"\$0\" $(echo $objs) -lcrypto -ljansson -lbson-1.0 $PURE_LIBS -lm" \
        || exit 1
}

# The operator's configuration is theirs: made once from examples/ (module
# and prefix paths filled in), never written again, so edits survive every
# start.  What the server writes (logs, media, the store, the pid file)
# goes under RUN_PREFIX.
RUN_PREFIX=$(realpath -m "${AMS_PREFIX:-$ROOT/build/run}")
DEFAULT_CONF="$ROOT/conf/nginx.conf"

conf_path() {
    realpath -m "${1:-$DEFAULT_CONF}"
}

# the first uncommented value of directive $2 in file $1
conf_value() {
    sed -n "s/^[[:space:]]*$2[[:space:]]\{1,\}\([^;[:space:]]*\).*/\1/p" \
        "$1" | head -1
}

make_conf() {
    local conf=$1 dir f to
    [ -e "$conf" ] && return 0
    dir=$(dirname "$conf")
    mkdir -p "$dir"
    for f in standalone.conf ams_media.conf; do
        to="$dir/$f"
        [ "$f" = standalone.conf ] && to=$conf
        [ -e "$to" ] && continue
        sed -e "s#@MODULES@#${AMS_MODULES:-$BUILD/modules}#g" \
            -e "s#@PREFIX@#$RUN_PREFIX#g" \
            -e "s#@WWW@#$ROOT/ngx_ams_webrtc/www#g" "$ROOT/examples/$f" >"$to.tmp"
        mv "$to.tmp" "$to"
    done
    log "wrote $conf and ams_media.conf beside it from examples/:" \
        "your configuration, never overwritten"
}

# nginx's arguments for CONF (in NGX): our prefix and error log, and our
# pid file unless CONF names one, so that no default path (Debian's
# /run/nginx.pid, /var/log/nginx) is ever read or signalled.  $2: more
# global directives.
ngx_args() {
    local g=${2:-}
    [ -n "$(conf_value "$1" pid)" ] || g="pid $RUN_PREFIX/nginx.pid; $g"
    NGX=(-p "$RUN_PREFIX/" -c "$1" -e "$RUN_PREFIX/logs/error.log")
    [ -z "$g" ] || NGX+=(-g "${g% }")
    mkdir -p "$RUN_PREFIX/logs"
}

pid_file() {
    local p
    p=$(conf_value "$1" pid)
    [ -n "$p" ] || p=$RUN_PREFIX/nginx.pid
    [[ $p == /* ]] || p=$RUN_PREFIX/$p
    echo "$p"
}

# the master's pid, when the server of CONF runs
running_pid() {
    local f pid
    f=$(pid_file "$1")
    [ -r "$f" ] || return 1
    pid=$(tr -dc 0-9 <"$f")
    [ -n "$pid" ] && alive "$pid" || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ] || return 1
    echo "$pid"
}

# a process that runs: an exited one its parent has not reaped yet (a
# zombie) does not
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

need_conf() {
    [ -e "$1" ] && return 0
    echo "no configuration at $1 (./build.sh run or conf makes it)" >&2
    exit 1
}

# As root, nginx's workers run as the "user" directive's user (nobody):
# they write media and the store under RUN_PREFIX, so every directory
# above it must be open to them (a clone under /root, 0700, is not).
# Checked before the configuration is made, whose paths are then fixed.
check_reach() {
    local u=nobody d p parts
    [ "$(id -u)" = 0 ] || return 0
    [ -e "$1" ] && u=$(conf_value "$1" user)
    u=${u:-nobody}
    runuser -u "$u" -- test -w "$RUN_PREFIX/media" 2>/dev/null && return 0
    # the first directory from / down that they cannot enter
    d=
    IFS=/ read -ra parts <<<"${RUN_PREFIX#/}/media"
    for p in "${parts[@]}"; do
        d="$d/$p"
        runuser -u "$u" -- test -x "$d" 2>/dev/null || break
    done
    cat >&2 <<EOF
nginx's workers run as "$u" and cannot reach $RUN_PREFIX:
$d is closed to them ($(stat -c %A "$d")).  Either open it
(chmod o+x $d) or put the server's files where they can reach them:
    AMS_PREFIX=/var/lib/nginx-ams ./build.sh run
EOF
    exit 1
}

conf_arg() {
    [ "$1" = "$DEFAULT_CONF" ] || printf ' %s' "$1"
}

run() {
    local conf arg pid ports elog
    conf=$(conf_path "${1:-}")
    arg=$(conf_arg "$conf")
    if [ -e "$conf" ] && pid=$(running_pid "$conf"); then
        echo "nginx-ams already runs with $conf (pid $pid):" \
            "./build.sh stop$arg first" >&2
        exit 1
    fi
    mkdir -p "$RUN_PREFIX/logs" "$RUN_PREFIX/media" "$RUN_PREFIX/temp"
    # workers run as nginx's unprivileged user and write the HLS files
    chmod 0777 "$RUN_PREFIX/media"
    check_reach "$conf"
    # the modules only: the unit tests take longer than a start
    [ "${AMS_NO_BUILD:-0}" = 1 ] || build_modules
    make_conf "$conf"
    ports=$(sed -n 's/^[[:space:]]*listen[[:space:]]\{1,\}\([^;]*\);.*/\1/p' \
        "$conf" | paste -sd, - | sed 's/,/, /g')
    elog=$(conf_value "$conf" error_log)
    log "nginx-ams: listening on ${ports:-what $conf says} (Ctrl-C stops)"
    ngx_args "$conf"
    cat >&2 <<EOF
    configuration  $conf (yours: edit it, then reload)
    error log      ${elog:-$RUN_PREFIX/logs/error.log}
    media, store   $(conf_value "$conf" storage), $(conf_value "$conf" database)
    reload         ./build.sh reload$arg
    stop           ./build.sh stop$arg    (graceful: live records are finished)
    or with nginx itself; never a plain "nginx -s", which signals the
    server of Debian's /run/nginx.pid:
      nginx $(printf '%q ' "${NGX[@]}")-s reload
      nginx $(printf '%q ' "${NGX[@]}")-s quit
EOF
    # exec: nginx's master keeps this pid, Ctrl-C reaches it directly
    ngx_args "$conf" "daemon off;"
    exec nginx "${NGX[@]}"
}

reload() {
    local conf pid
    conf=$(conf_path "${1:-}")
    need_conf "$conf"
    if ! pid=$(running_pid "$conf"); then
        echo "nginx-ams is not running with $conf" >&2
        exit 1
    fi
    # a configuration that does not load is reported here, and the
    # running server keeps the one it has
    ngx_args "$conf"
    if ! nginx "${NGX[@]}" -t -q; then
        echo "not reloaded: the server keeps the configuration it runs" >&2
        exit 1
    fi
    nginx "${NGX[@]}" -s reload
    log "reload sent to pid $pid: new workers run $conf; old ones finish" \
        "their connections (at most worker_shutdown_timeout)"
}

stop() {
    local conf pid i
    conf=$(conf_path "${1:-}")
    need_conf "$conf"
    if ! pid=$(running_pid "$conf"); then
        log "nginx-ams is not running with $conf"
        return 0
    fi
    ngx_args "$conf"
    nginx "${NGX[@]}" -s quit
    log "graceful stop of pid $pid: live streams end, their records are" \
        "finished; waiting for nginx to exit"
    for ((i = 0; i < 600; i++)); do
        alive "$pid" || { log "stopped"; return 0; }
        sleep 0.1
    done
    echo "nginx-ams (pid $pid) still runs after 60 s: its connections" \
        "outlive worker_shutdown_timeout?  'kill -TERM $pid' stops it" \
        "at once" >&2
    exit 1
}

test_all() {
    deps_test
    build
    export AMS_MODULES="$BUILD/modules" AMS_UNIT="$BUILD/unit"
    if [ "${AMS_ASAN:-0}" = 1 ]; then
        export AMS_PRELOAD
        AMS_PRELOAD=$(gcc -print-file-name=libasan.so)
        # every nginx dynamic module defines ngx_modules etc. by design: not an ODR bug
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_odr_violation=0
        # headless players take minutes and add no C paths of their own
        # (t/lib/Ams/Browser.pm): CI's whole run stays under an hour
        export AMS_NO_BROWSER=1
    fi
    log "running the suite"
    prove --timer -I"$ROOT/t/lib" -r "$ROOT/t/"
}

# one target for $2 seconds; its log's last line, or its tail on a crash
fuzz_one() {
    local bin=$1 secs=$2 name corpus
    name=$(basename "$bin")
    corpus="$BUILD/fuzz/corpus-$name"
    mkdir -p "$corpus"
    if "$bin" -max_total_time="$secs" -max_len=65536 "$corpus" \
        "$ROOT/fuzz/seeds/${name#fuzz_}" 2>"$BUILD/fuzz/$name.log"; then
        echo "$name: $(tail -1 "$BUILD/fuzz/$name.log")"
    else
        echo "$name FAILED:"
        tail -40 "$BUILD/fuzz/$name.log"
        return 1
    fi
}

# every target, as many at once as there are cores
fuzz() {
    deps_test
    build_fuzz
    local secs=${1:-60} failed=0 running=0
    log "fuzzing every target for ${secs}s, $(nproc) at a time"
    for bin in "$BUILD"/fuzz/fuzz_*; do
        [[ -x $bin && $bin != *.log ]] || continue
        if ((running >= $(nproc))); then
            wait -n || failed=1
            running=$((running - 1))
        fi
        fuzz_one "$bin" "$secs" &
        running=$((running + 1))
    done
    while ((running > 0)); do
        wait -n || failed=1
        running=$((running - 1))
    done
    ((failed == 0)) || exit 1
}

bench() {
    deps_bench
    build
    export AMS_MODULES="$BUILD/modules"
    for b in "$ROOT"/bench/bench_*.sh; do bash "$b"; done
}

case "${1:-build}" in
    build) build ;;
    modules) build_modules ;;
    deps-build) deps_build ;;
    deps) deps_test ;;
    run | reload | stop) "$1" "${2:-}" ;;
    conf) make_conf "$(conf_path "${2:-}")"; conf_path "${2:-}" ;;
    test) test_all ;;
    fuzz) shift; fuzz "$@" ;;
    bench) bench ;;
    *) echo "usage: $0 [build|modules|run [CONF]|reload [CONF]|stop [CONF]|" \
            "conf [CONF]|test|fuzz [seconds]|bench|deps|deps-build]" >&2; exit 2 ;;
esac
