# WebRTC players between the original and the transcoder's rungs: an
# RTMP publish (640x360, a keyframe a second) with a ladder of 240p and
# 144p; an aiortc player on Ant Media's WebSocket sees getStreamInfo
# list the rungs, forces 144p and decodes 144-line pictures, then forces
# 360 and decodes the original again, on one session (no new offer); a
# WHEP player with ?streamHeight=240 decodes the 240p rung.  Before
# forcing, the automatic choice keeps this healthy viewer (no loss,
# aiortc's REMB near 0.75x of what it receives) on the original.

use strict;
use warnings;

use FindBin;
use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $ladder = '[{"height":240,"videoBitrate":300000},'
           . '{"height":144,"videoBitrate":150000}]';

my $ng = webrtc_nginx(
    config => <<'EOF2',
location ~ ^/[^/]+/websocket$ {
    ams_webrtc  on;
}
EOF2
    applications => <<"EOF2")->start;
application LiveApp {
    delete_hls_files_on_ended  off;
    encoder_settings           '$ladder';
    encoder_preset             ultrafast;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $ws = 'ws://127.0.0.1:' . $ng->http_port . '/LiveApp/websocket';

my $pub = publish("$rtmp/LiveApp/cam", seconds => 40, size => '640x360',
                  rate => 15, audio => 0, extra => ['-g', 15]);
my $streams = $ng->media . '/LiveApp/streams';
ok(poll_until(sub { -s "$streams/cam_144p150kbps.m3u8"
                    && -s "$streams/cam_240p300kbps.m3u8" }, 20),
   'the stream and its two rungs are live');

# Ant Media's WebSocket: forceStreamQuality down to a rung and back
my $c = Ams::WebRTC::_spawn('ams_abr', sub {
    ['/usr/bin/python3', "$FindBin::Bin/webrtc/ams_abr_client.py", $ws, 'cam',
     '--auto', 3, '--heights', '144,360', '--step', 8, '--timeout', 40,
     '--status', $_[0]];
});
my $r = client_wait($c, 60);

ok($r->{started}, 'the WebSocket player decodes pictures')
    or diag(explain $r);
is(join(',', @{ $r->{auto_heights} // [] }), '360',
   'automatic: a viewer without loss or congestion keeps the original');
is(join(',', map { $_->{streamHeight} } @{ $r->{streamInfo} // [] }),
   '360,240,144', 'getStreamInfo lists the original and the rungs');
is(join(',', map { $_->{videoBitrate} } @{ $r->{streamInfo} // [] }[1, 2]),
   '300000,150000', "with the rungs' bitrates");
my ($down, $up) = @{ $r->{steps} // [] };
ok($down && $down->{reached}, sprintf 'forced to 144p: 144-line pictures '
   . 'after %d ms', $down->{ms} // -1) or diag(explain $r);
ok($up && $up->{reached}, sprintf 'forced to 360: the original again after '
   . '%d ms', $up->{ms} // -1) or diag(explain $r);
ok(($r->{frames} // 0) > ($up->{frames} // 1e9),
   'pictures go on after the switch back');
is_deeply($r->{errors}, [], 'no errors');
like(join(',', @{ $r->{heights} // [] }), qr/^(?:\d+,)*144,360/,
     'the decoded heights went 144 then 360')
    or diag(explain $r->{heights});

# WHEP with ?streamHeight: the rung from the start
my $ai = aiortc_start('whep', "$http/LiveApp/whep/cam?streamHeight=240",
                      seconds => 0, timeout => 30, args => ['--no-audio']);
my $s = client_poll($ai, sub { ($_[0]{counts}{height} // 0) == 240 }, 20);
ok($s, 'WHEP ?streamHeight=240 decodes 240-line pictures')
    or diag(explain client_status($ai));
my $w = client_stop($ai);
is($w->{status}, 201, 'the WHEP POST: 201');

kill 'TERM', $pub;
waitpid $pub, 0;
$ng->stop;
my $log = $ng->error_log;
unlike($log, qr/\[(?:alert|emerg|crit)\]|sanitizer/i,
       'no alerts in the error log');

done_testing();
