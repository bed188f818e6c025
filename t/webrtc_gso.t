# Batched sends (sendmmsg, UDP GSO) at a rate where a frame is many
# packets: an RTMP stream at 1280x720, 1.5 Mb/s (keyframes of dozens of
# FU-A fragments, sent as UDP_SEGMENT runs) played by two aiortc players
# at once (their packets share one queue): both decode frames at
# 1280x720 at near the source's rate, and no send is dropped.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $ng = webrtc_nginx();
$ng->start;
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;

my $pub = publish("$rtmp/LiveApp/hd", seconds => 30, size => '1280x720',
                  rate => 30, audio => 0,
                  extra => ['-b:v', '1500k', '-maxrate', '1500k',
                            '-bufsize', '3000k']);
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/hd.m3u8' }, 20),
   'the RTMP stream is live');

my @ai = map { aiortc_start('whep', "$http/LiveApp/whep/hd", seconds => 3,
                            timeout => 30) } 1 .. 2;

for my $i (0 .. $#ai) {
    my $r = client_wait($ai[$i], 50);
    is($r->{status}, 201, "player $i: WHEP POST answered 201")
        or diag(explain $r->{errors});
    my $frames = ($r->{last}{video_frames} // 0)
               - ($r->{first}{video_frames} // 0);
    my $span = (($r->{last}{t} // 0) - ($r->{first}{t} // 0)) / 1000;
    ok($span >= 2.9 && $frames >= 30 * $span * 0.6,
       sprintf 'player %d: %d frames in %.1f s', $i, $frames, $span);
    is(($r->{counts}{width} // 0) . 'x' . ($r->{counts}{height} // 0),
       '1280x720', "player $i: at 1280x720");
}

unlike($ng->error_log, qr/UDP send buffer full/, 'no send dropped');

kill 'TERM', $pub;
wait_publisher($pub, 10);
$ng->stop;
done_testing;
