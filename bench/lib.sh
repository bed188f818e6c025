# Sourced by the bench scripts (ROOT, OUT and MODULES set): the RTMP load
# client, an nginx-ams node with the REST API, starting and stopping one.

# the input the RTMP benches replay: a 720p30 1.5 Mb/s H.264 + AAC FLV of
# at least $1 seconds, made once (INPUT names it)
bench_input_flv() {
    INPUT="$OUT/input.flv"
    if [ ! -s "$INPUT" ]; then
        ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 \
            -f lavfi -i sine=frequency=440:sample_rate=44100 -t "$1" \
            -c:v libx264 -preset veryfast -b:v 1500k -maxrate 1500k \
            -bufsize 3000k -g 60 -keyint_min 60 -sc_threshold 0 \
            -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$INPUT"
    fi
}

bench_load_client() {
    cc -O2 -Wall -I"$ROOT/ngx_ams_ingest" -o "$OUT/ams_rtmp_load" \
        "$ROOT/bench/ams_rtmp_load.c" "$ROOT/ngx_ams_ingest/ngx_ams_rtmp_chunk.c" \
        "$ROOT/ngx_ams_ingest/ngx_ams_amf0.c"
}

# bench_ams_api_conf PREFIX HTTP_PORT [RTMP_PORT] [AMS_LINES] [LOCATIONS]:
# 2 workers, the store under PREFIX/data, limits that never refuse (a
# benchmark measures), REST on HTTP_PORT, RTMP when RTMP_PORT is given
bench_ams_api_conf() {
    local p=$1 http=$2 rtmp=${3:-} ams=${4:-} locations=${5:-} stream=
    [ -n "$rtmp" ] \
        && stream="stream { server { listen 127.0.0.1:$rtmp; ams_rtmp; } }"
    mkdir -p "$p/media" "$p/temp"
    chmod 0777 "$p/media"
    cat >"$p/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
load_module $MODULES/ngx_ams_core_module.so;
load_module $MODULES/ngx_ams_ingest_module.so;
load_module $MODULES/ngx_ams_packager_module.so;
load_module $MODULES/ngx_ams_api_module.so;
worker_processes  2;
pid               $p/nginx.pid;
error_log         $p/error.log warn;
events { worker_connections 8192; }
thread_pool ams threads=4;
ams {
    storage        $p/media;
    database       $p/data/ams.db;
    thread_pool    ams;
    cpu_limit      100;   # measure, do not refuse
    memory_limit   100;
    $ams
}
$stream
http {
    access_log  off;
    client_body_temp_path  $p/temp/body;
    proxy_temp_path        $p/temp/proxy;
    fastcgi_temp_path      $p/temp/fastcgi;
    uwsgi_temp_path        $p/temp/uwsgi;
    scgi_temp_path         $p/temp/scgi;
    server {
        listen 127.0.0.1:$http;
        location ~ ^/[^/]+/rest/ { ams_rest; }
        $locations
    }
}
CONF
}

# the latency benchmarks' clock, an ffmpeg filter: each frame's wall
# time in ms at capture (settb to 1 ms) drawn as 45 bits of 14 px in the
# top 16 rows, which the player pages read back
BENCH_CLOCK="settb=1/1000,setpts=floor(RTCTIME/1000),"
BENCH_CLOCK+="geq=lum='if(lt(Y\,16)\,255*mod(floor(T*1000/pow(2\,floor(X/14)))\,2)\,lum(X\,Y))'"
BENCH_CLOCK+=":cb='if(lt(Y\,8)\,128\,cb(X\,Y))':cr='if(lt(Y\,8)\,128\,cr(X\,Y))',"
BENCH_CLOCK+="setpts=PTS-STARTPTS"

bench_start() {   # PREFIX holding nginx.conf
    local p=$1
    nginx -p "$p/" -c "$p/nginx.conf" -e "$p/error.log"
    for _ in $(seq 100); do [ -s "$p/nginx.pid" ] && break; sleep 0.05; done
    sleep 0.5
}

# the peer of the latency benchmarks: nginx-rtmp (Debian's
# libnginx-mod-rtmp) cutting 2 s HLS fragments, serving them and the
# player pages in WWW; nginx.conf written into PREFIX, then started
bench_nginx_rtmp_hls() {   # PREFIX RTMP_PORT HTTP_PORT WWW
    local p=$1 rtmp=$2 http=$3 www=$4
    rm -rf "$p"
    mkdir -p "$p/hls" "$p/temp"
    chmod 0777 "$p/hls"
    cat >"$p/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes  2;
pid               $p/nginx.pid;
error_log         $p/error.log warn;
events { worker_connections 1024; }
rtmp {
    server {
        listen 127.0.0.1:$rtmp;
        application LiveApp {
            live on;
            hls on;
            hls_path $p/hls;
            hls_fragment 2s;
            hls_playlist_length 30s;
        }
    }
}
http {
    access_log  off;
    client_body_temp_path  $p/temp/body;
    proxy_temp_path        $p/temp/proxy;
    fastcgi_temp_path      $p/temp/fastcgi;
    uwsgi_temp_path        $p/temp/uwsgi;
    scgi_temp_path         $p/temp/scgi;
    types {
        application/vnd.apple.mpegurl  m3u8;
        video/mp2t                     ts;
        text/html                      html;
        application/javascript         js;
    }
    server {
        listen 127.0.0.1:$http;
        location /hls/ { root $p; add_header Cache-Control no-cache; }
        location /www/ { root $www; }
    }
}
CONF
    bench_start "$p"
}

bench_stop() { kill "$(cat "$1/nginx.pid")" 2>/dev/null || true; sleep 1; }
