# Ant Media's own JavaScript SDK (@antmedia/webrtc_adaptor, unchanged) in
# headless Chromium against our WebSocket signalling: a page publishes its
# fake camera and microphone, a second page plays the stream back; the
# player decodes frames at the camera's size and receives audio, and the
# stream also plays as HLS with AAC audio (the transcoder's Opus -> AAC).
# Both send a message with the SDK's sendData(): it reaches the other page
# over the data channels (the player's, opened by the server).

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use JSON::PP;
use Ams::Nginx;
use Ams::Media;
use Ams::Browser qw(browser_missing);

my $missing = browser_missing();
plan skip_all => $missing if $missing;

my $lib = "$FindBin::Bin/browser/node_modules";
plan skip_all => 'needs @antmedia/webrtc_adaptor (./build.sh test installs it)'
    unless -f "$lib/\@antmedia/webrtc_adaptor/dist/browser/webrtc_adaptor.js";

my $udp = 20000 + int rand 20000;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode webrtc)],
    main_config => <<"EOF1",
ams {
    storage        \$MEDIA;
    thread_pool    ams;
    bus_zone_size  128m;
    cpu_limit      100;
    memory_limit   100;
    webrtc_udp_port_base   $udp;
    webrtc_public_address  127.0.0.1;

    application LiveApp {
        hls                        on;
        hls_time                   1s;
        delete_hls_files_on_ended  off;
    }
}
EOF1
    config => Ams::Nginx::default_server() . <<'EOF2');
location ~ ^/[^/]+/websocket$ {
    ams_webrtc  on;
}
location /www/ {
    root  $PREFIX;
}
EOF2

my $www = $ng->prefix . '/www';
make_path("$www/lib");
copy("$lib/\@antmedia/webrtc_adaptor/dist/browser/webrtc_adaptor.js",
     "$www/lib/") or die $!;
copy("$lib/\@mediapipe/selfie_segmentation/selfie_segmentation.js",
     "$www/lib/") or die $!;
copy("$FindBin::Bin/browser/ams_adaptor.html", "$www/") or die $!;
$ng->start;

my $port = $ng->http_port;
my $out = `node '$FindBin::Bin/browser/adaptor.js' 'http://127.0.0.1:$port/www/ams_adaptor.html' 'ws://127.0.0.1:$port/LiveApp/websocket' sdk1 --watch 3 2>&1`;
my $r = eval { decode_json((split /\n/, $out)[-1]) } || { errors => [$out] };

ok($r->{published}, 'the SDK publishes over the WebSocket (publish_started)')
    or diag(explain($r));
ok($r->{played}, 'a second page plays it back (play_started)')
    or diag(explain($r));

my ($b, $a) = ($r->{before} // {}, $r->{after} // {});
my $frames = ($a->{framesDecoded} // 0) - ($b->{framesDecoded} // 0);
cmp_ok($frames, '>=', 30, "the player decoded frames over 3 s ($frames)");
ok(($a->{width} // 0) > 0 && ($a->{height} // 0) > 0,
   "at the camera's size ($a->{width}x$a->{height})")
    if defined $a->{width};
cmp_ok(($a->{audioPackets} // 0) - ($b->{audioPackets} // 0), '>', 50,
       'and received audio');
diag("WebSocket play: first frame $r->{setup_ms} ms after the page opened")
    if defined $r->{setup_ms};
ok($r->{data}{to_player},
   'the publisher\'s sendData() reaches the player (data channel)')
    or diag(explain($r->{data}));
ok($r->{data}{to_publisher}, 'the player\'s sendData() reaches the publisher');
is_deeply($r->{errors}, [], 'no SDK error');

# the same stream as HLS, with AAC audio made from the publisher's Opus
my ($v, $au) = av_streams(ffprobe('http://127.0.0.1:' . $port
                                  . '/LiveApp/streams/sdk1.m3u8'));
ok($v && $v->{width} > 0, 'the WebRTC publish plays as HLS video');
is($au && $au->{codec_name}, 'aac', 'with AAC audio');

is($ng->crashes, '', 'no crash in the error log');
$ng->stop;
done_testing();
