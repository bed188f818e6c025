#!/usr/bin/env bash
# nginx-ams: install dependencies, build the dynamic modules, run, test, fuzz.
#
#   ./build.sh            build the modules into build/modules/
#   ./build.sh run        build, then run nginx with examples/standalone.conf
#   ./build.sh test       install test deps, build, run the whole suite
#   ./build.sh fuzz [S]   run every libFuzzer target for S seconds (default 60)
#   ./build.sh bench      run the benchmarks in bench/
#
# Environment: NGINX_SRC=/path builds against another nginx source tree;
# AMS_ASAN=1 builds the modules with AddressSanitizer (tests preload libasan);
# CI=true turns warnings into errors.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD="$ROOT/build"
[ "${AMS_ASAN:-0}" = 1 ] && BUILD="$ROOT/build-asan"
MODULES="ngx_ams_core_module ngx_ams_ingest_module ngx_ams_packager_module
    ngx_ams_api_module"

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
        libswresample-dev libsqlite3-dev libjansson-dev
}

deps_test() {
    deps_build
    need_pkgs ffmpeg openssl perl curl clang libclang-rt-14-dev chromium \
        prometheus
    command -v node >/dev/null && command -v npm >/dev/null \
        || need_pkgs nodejs npm
    # hls.js, dash.js and playwright-core for the browser tests, pinned by
    # t/browser/package-lock.json
    if [ ! -d "$ROOT/t/browser/node_modules/playwright-core" ] \
        || [ "$ROOT/t/browser/package-lock.json" -nt "$ROOT/t/browser/node_modules" ]; then
        log "installing the browser test packages"
        (cd "$ROOT/t/browser" && npm ci --silent --no-audit --no-fund)
    fi
}

deps_bench() {
    deps_test
    need_pkgs libnginx-mod-rtmp wrk
}

build() {
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
    local want="$src|$cflags|$ldflags"
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
    for m in $MODULES; do cp "$tree/objs/$m.so" "$BUILD/modules/"; done
    build_unit
}

# Code that does not need nginx (parsers, the ring, muxers) is also built
# into small C programs: unit tests (TAP) and libFuzzer targets.
PURE_SRCS="ngx_ams_core/ngx_ams_ring.c ngx_ams_core/ngx_ams_avc.c
    ngx_ams_core/ngx_ams_aac.c ngx_ams_ingest/ngx_ams_rtmp_handshake.c
    ngx_ams_ingest/ngx_ams_rtmp_chunk.c ngx_ams_ingest/ngx_ams_amf0.c
    ngx_ams_ingest/ngx_ams_flv.c ngx_ams_packager/ngx_ams_ts_mux.c ngx_ams_packager/ngx_ams_mp4_mux.c
    ngx_ams_packager/ngx_ams_hls.c ngx_ams_packager/ngx_ams_cmaf.c
    ngx_ams_packager/ngx_ams_m3u8.c ngx_ams_packager/ngx_ams_mpd.c
    ngx_ams_packager/ngx_ams_file.c ngx_ams_core/ngx_ams_jwt.c
    ngx_ams_core/ngx_ams_broadcast_schema.c ngx_ams_api/ngx_ams_media_name.c
    ngx_ams_core/ngx_ams_handoff.c ngx_ams_core/ngx_ams_stream_index.c
    ngx_ams_core/ngx_ams_store_sql.c ngx_ams_core/ngx_ams_log_escape.c"
PURE_SRCS="$PURE_SRCS ngx_ams_api/ngx_ams_viewer_cookie.c"
PURE_INCS="-I$ROOT/ngx_ams_core -I$ROOT/ngx_ams_ingest -I$ROOT/ngx_ams_packager
    -I$ROOT/ngx_ams_api"

build_unit() {
    local out="$BUILD/unit" srcs=()
    mkdir -p "$out"
    for s in $PURE_SRCS; do srcs+=("$ROOT/$s"); done
    local cflags="-g -O1 -Wall -Wextra -Wno-unused-parameter"
    [ "${CI:-}" = true ] && cflags="$cflags -Werror"
    [ "${AMS_ASAN:-0}" = 1 ] && cflags="$cflags -fsanitize=address,undefined"
    for t in "$ROOT"/t/unit/test_*.c; do
        [ -e "$t" ] || continue
        local bin="$out/$(basename "$t" .c)"
        # shellcheck disable=SC2086
        cc $cflags $PURE_INCS -I"$ROOT/t/unit" -o "$bin" "$t" "${srcs[@]}" \
            -lcrypto -ljansson -lsqlite3 -lpthread
    done
}

build_fuzz() {
    local out="$BUILD/fuzz" srcs=()
    mkdir -p "$out"
    for s in $PURE_SRCS; do srcs+=("$ROOT/$s"); done
    for f in "$ROOT"/fuzz/fuzz_*.c; do
        local bin="$out/$(basename "$f" .c)"
        # shellcheck disable=SC2086
        clang -g -O1 -fsanitize=fuzzer,address,undefined $PURE_INCS \
            -o "$bin" "$f" "${srcs[@]}" -lcrypto -ljansson
    done
}

run() {
    build
    local prefix="$ROOT/build/run"
    mkdir -p "$prefix/logs" "$prefix/media" "$prefix/temp"
    # workers run as nginx's unprivileged user and write the HLS files
    chmod 0777 "$prefix/media"
    for f in standalone.conf ams_media.conf; do
        sed -e "s#@MODULES@#$BUILD/modules#g" -e "s#@PREFIX@#$prefix#g" \
            "$ROOT/examples/$f" >"$prefix/$f"
    done
    mv "$prefix/standalone.conf" "$prefix/nginx.conf"
    log "nginx-ams: RTMP on :1935, HTTP on :5080 (Ctrl-C stops)"
    exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
        -g 'daemon off;'
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
    fi
    log "running the suite"
    prove -I"$ROOT/t/lib" -r "$ROOT/t/"
}

fuzz() {
    deps_test
    build_fuzz
    local secs=${1:-60}
    for bin in "$BUILD"/fuzz/fuzz_*; do
        [[ -x $bin && $bin != *.log ]] || continue
        local name corpus
        name=$(basename "$bin")
        corpus="$BUILD/fuzz/corpus-$name"
        mkdir -p "$corpus"
        log "fuzzing $name for ${secs}s"
        "$bin" -max_total_time="$secs" -max_len=65536 "$corpus" \
            "$ROOT/fuzz/seeds/${name#fuzz_}" 2>"$BUILD/fuzz/$name.log" \
            || { tail -40 "$BUILD/fuzz/$name.log"; exit 1; }
        tail -1 "$BUILD/fuzz/$name.log"
    done
}

bench() {
    deps_bench
    build
    export AMS_MODULES="$BUILD/modules"
    for b in "$ROOT"/bench/bench_*.sh; do bash "$b"; done
}

case "${1:-build}" in
    build) build ;;
    deps) deps_test ;;
    run) run ;;
    test) test_all ;;
    fuzz) shift; fuzz "$@" ;;
    bench) bench ;;
    *) echo "usage: $0 [build|run|test|fuzz [seconds]|bench|deps]" >&2; exit 2 ;;
esac
