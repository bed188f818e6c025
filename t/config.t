# The ams {} block and the RTMP server directives: defaults that work,
# clear refusals of bad values.

use strict;
use warnings;

use lib 't/lib';
use Ams::TestNginx;

run_blocks();

__DATA__

=== TEST 1: defaults: an application with no directives starts
--- main_config
ams {
    storage  $MEDIA;
    application LiveApp {
    }
}
--- request
GET /LiveApp/streams/none.m3u8
--- error_code: 404
--- no_error_log
[emerg]

=== TEST 2: every application directive
--- main_config
ams {
    storage        $MEDIA;
    thread_pool    ams;
    bus_zone_size  64m;
    max_streams    100;
    stream_buffer  2m;
    wake_interval  10ms;

    application LiveApp {
        hls                        on;
        hls_time                   4s;
        hls_list_size              5;
        hls_segment_type           mpegts;
        dash                       off;
        delete_hls_files_on_ended  on;
    }
}
--- stream_config
server {
    listen                127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_chunk_size   60000;
    ams_rtmp_max_message  4m;
    ams_rtmp_timeout      10s;
    ams_rtmp_out_queue    128k;
}
--- request
GET /
--- error_code: 404

=== TEST 3: hls_time under 100ms is refused
--- main_config
ams {
    application LiveApp {
        hls_time  10ms;
    }
}
--- must_die
--- error_log
"hls_time" must be at least 100ms

=== TEST 4: two applications of one name are refused
--- main_config
ams {
    application LiveApp {
    }
    application LiveApp {
    }
}
--- must_die
--- error_log
"application" directive is duplicate

=== TEST 5: application names cannot hold path characters
--- main_config
ams {
    application ../etc {
    }
}
--- must_die
--- error_log
name must not contain

=== TEST 6: unknown segment type
--- main_config
ams {
    application LiveApp {
        hls_segment_type  webm;
    }
}
--- must_die
--- error_log
invalid value "webm"

=== TEST 7: application directives belong inside an application
--- main_config
ams {
    hls_time  2s;
}
--- must_die
--- error_log
"hls_time" directive is not allowed here

=== TEST 8: RTMP chunk size out of range
--- stream_config
server {
    listen               127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_chunk_size  64;
}
--- must_die
--- error_log
"ams_rtmp_chunk_size" must be between 128 and 16777215

=== TEST 9: max_streams of zero
--- main_config
ams {
    max_streams  0;
}
--- must_die
--- error_log
"max_streams" must be between 1 and 100000

=== TEST 10: wake_interval over a second
--- main_config
ams {
    wake_interval  5s;
}
--- must_die
--- error_log
"wake_interval" must be at most 1s

=== TEST 11: the media location serves playlists with their MIME type
--- config
location ~ ^/[^/]+/streams/ {
    root  $PREFIX/www;
    types {
        application/vnd.apple.mpegurl  m3u8;
    }
}
--- request
GET /LiveApp/streams/missing.m3u8
--- error_code: 404
--- response_body_like
<center>nginx/1\.\d+\.\d+</center>

=== TEST 12: cpu_limit is a percentage
--- main_config
ams {
    cpu_limit  150;
}
--- must_die
--- error_log
"cpu_limit" and "memory_limit" are percentages, 0..100

=== TEST 13: a JWT key too short to be safe
--- main_config
ams {
    application LiveApp {
        publish_jwt_control_enabled  on;
        jwt_stream_secret_key        short;
    }
}
--- must_die
--- error_log
"jwt_stream_secret_key" must be at least 32 characters

=== TEST 14: webhooks are http://
--- main_config
ams {
    application LiveApp {
        listener_hook_url  https://hooks.example.com/ams;
    }
}
--- must_die
--- error_log
only http:// webhooks are supported

=== TEST 15: the REST API answers with AMS's Result when an application is unknown
--- config
location ~ ^/[^/]+/rest/ {
    ams_rest;
}
--- request
GET /NoSuchApp/rest/v2/broadcasts/count
--- error_code: 404
--- response_body_like
^\{"success":false,"message":"no such application or not a REST v2 path"

=== TEST 16: a MongoDB store needs the cluster module
--- main_config
ams {
    database  mongodb://db.example.com:27017/clusterdb;
}
--- must_die
--- error_log
"database" "mongodb://db.example.com:27017/clusterdb" needs ngx_ams_cluster

=== TEST 17: a store scheme nobody registered
--- main_config
ams {
    database  redis:localhost;
}
--- must_die
--- error_log
no store backend for "redis:"

=== TEST 18: the store's directives: sqlite:PATH, its own pools, the stale window
--- main_config
thread_pool  store threads=1;
thread_pool  pack threads=1;
ams {
    storage                  $MEDIA;
    database                 sqlite:data/other.db;
    store_thread_pool        store;
    packager_thread_pool     pack;
    broadcast_stale_timeout  1m;
    application LiveApp {
    }
}
--- config
location ~ ^/[^/]+/rest/ {
    ams_rest;
}
--- request
GET /LiveApp/rest/v2/broadcasts/count
--- error_code: 200
--- response_body_like
^\{"number":0\}$
--- no_error_log
[emerg]

=== TEST 19: a stale window shorter than the refresh period
--- main_config
ams {
    broadcast_stale_timeout  5s;
}
--- must_die
--- error_log
"broadcast_stale_timeout" must be at least 15s

=== TEST 20: a store pool nobody declared
--- main_config
ams {
    store_thread_pool  nosuch;
}
--- must_die
--- error_log
unknown thread pool "nosuch"

=== TEST 21: a packager pool nobody declared
--- main_config
ams {
    packager_thread_pool  nosuch;
}
--- must_die
--- error_log
unknown thread pool "nosuch"

=== TEST 22: a packager directive needs the packager module
--- modules: core ingest api
--- main_config
ams {
    application LiveApp {
        hls_time  4s;
    }
}
--- must_die
--- error_log
unknown directive "hls_time"

=== TEST 23: the REST API's application settings need the api module
--- modules: core ingest packager
--- main_config
ams {
    application LiveApp {
        jwt_control_enabled  on;
    }
}
--- config
location / {
    return 204;
}
--- must_die
--- error_log
unknown directive "jwt_control_enabled"

=== TEST 24: without the packager and the api, core's application settings still work
--- modules: core ingest
--- main_config
ams {
    storage  $MEDIA;
    application LiveApp {
        viewer_timeout                     20s;
        accept_only_streams_in_data_store  on;
        listener_hook_url                  http://127.0.0.1:9/hook;
    }
}
--- config
location / {
    return 204;
}
--- request
GET /
--- error_code: 204
--- no_error_log
[emerg]

=== TEST 25: modules with application settings load before the ams block
--- modules: core ingest api
--- top_config
ams {
    application LiveApp {
    }
}
load_module $MODULES/ngx_ams_packager_module.so;
--- must_die
--- error_log
"ngx_ams_packager_module" must be loaded before the "ams" block

=== TEST 26: the REST API's JWT key too short to be safe
--- main_config
ams {
    application LiveApp {
        jwt_control_enabled  on;
        jwt_secret_key       short;
    }
}
--- must_die
--- error_log
"jwt_secret_key" must be at least 32 characters

=== TEST 27: the REST API's JWT key missing is said to be missing
--- main_config
ams {
    application LiveApp {
        jwt_control_enabled  on;
    }
}
--- must_die
--- error_log
"jwt_secret_key" is missing: "jwt_control_enabled on" needs it

=== TEST 28: ams_remote_allowed_cidr takes addresses, networks or all
--- http_config
ams_remote_allowed_cidr  127.0.0.1 10.0.0.0/8 ::1;
--- config
location = /metrics {
    ams_remote_allowed_cidr  all;
    ams_metrics;
}
--- request
GET /metrics
--- response_body_like
ams_streams_active 0

=== TEST 29: ams_remote_allowed_cidr refuses what is not an address
--- http_config
ams_remote_allowed_cidr  localhost;
--- must_die
--- error_log
invalid address or CIDR "localhost"

=== TEST 30: webrtc_offer_rate says how to write a rate
--- modules: core ingest packager api transcode webrtc
--- main_config
ams {
    webrtc_offer_rate  10;
}
--- must_die
--- error_log
invalid rate "10" (say "10r/s" or "off")

=== TEST 31: webrtc_offer_rate's burst
--- modules: core ingest packager api transcode webrtc
--- main_config
ams {
    webrtc_offer_rate  10r/s burst=0;
}
--- must_die
--- error_log
invalid burst "burst=0" (say "burst=20")
