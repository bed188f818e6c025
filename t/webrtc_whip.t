# WebRTC publishers.  Headless Chromium publishes its fake camera (640x480)
# and microphone by WHIP from a page on the test nginx: the stream is live
# (REST: broadcasting, publishType WebRTC), a second page plays it by WHEP
# with framesDecoded rising at 640x480, and it is packaged as HLS that
# ffprobe reads as H.264 640x480 with AAC audio (the transcoder's Opus ->
# AAC transform; without it the stream has Opus and HLS no audio).  The
# publisher's DELETE (200) ends the broadcast.  aiortc publishes by WHIP
# too (testsrc 640x360 and a tone): live, played by an aiortc WHEP
# player, HLS at 640x360.  The player is counted on cam2 (whichever of
# its streams it reads): webRTCViewerCount 1, then 0 after its DELETE;
# system-resources counts cam2 in localWebRTCLiveStreams.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;
my $no_browser = webrtc_missing();

my $ng = webrtc_nginx(applications => <<'EOF')->start;
application LiveApp {
    hls_time                   1s;
    delete_hls_files_on_ended  off;
}
EOF
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $dir = $ng->media . '/LiveApp/streams';
my $aac = transform_publisher();

sub broadcast {
    my ($id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/LiveApp/rest/v2/broadcasts/$id");
    return $st == 200 ? $doc : {};
}

# The HLS of a stream: once its playlist lists a segment, its video and
# audio as ffprobe reads them; and whether a second segment follows
# within 20 s (a browser makes keyframes only when asked: the server
# must ask for them, or one segment grows for ever).
sub hls_streams {
    my ($id) = @_;
    my $n = 0;
    poll_until(sub {
        my ($segs) = playlist_segments(slurp("$dir/$id.m3u8"));
        $n = @$segs;
    }, 15);
    my @av = $n ? av_streams(ffprobe("$http/LiveApp/streams/$id.m3u8"))
                : ({}, {});
    ok(poll_until(sub {
        my ($segs) = playlist_segments(slurp("$dir/$id.m3u8"));
        @$segs >= 2;
    }, 20), "HLS of $id: segments keep closing (keyframes come)")
        or diag(slurp("$dir/$id.m3u8"));
    return @av;
}

# --- Chromium publishes -----------------------------------------------------

SKIP: {
skip $no_browser, 1 if $no_browser;
subtest 'Chromium publishes by WHIP' => sub {
    my $pub = chromium_start(page_url($ng, 'whip', '/LiveApp/whip/cam1'),
                             until => 'sent', seconds => 0, timeout => 90);
    my $s = client_poll($pub, sub { $_[0]{started} }, 20);
    ok($s, 'Chromium publishes: connected, frames sent')
        or diag(explain client_status($pub));
    $s //= {};
    is($s->{last}{status}, 201, 'the WHIP POST: 201');
    like($s->{last}{location} // '', qr{^/LiveApp/whip/cam1/[0-9a-f]{32}$},
         'Location /LiveApp/whip/cam1/{32 hex}');
    is($s->{last}{sentVideo}{codec}, 'video/H264', 'Chromium sends H.264');
    my $camera = join 'x', map { $s->{last}{camera}{$_} // 0 } qw(width height);
    is($camera, '640x480', 'the fake camera at 640x480');

    ok(poll_until(sub { (broadcast('cam1')->{status} // '') eq 'broadcasting' },
                  10), 'REST: cam1 is broadcasting');
    is(broadcast('cam1')->{publishType}, 'WebRTC', 'publishType WebRTC');

    # a second page plays it by WHEP
    my $play = chromium_start(page_url($ng, 'whep', '/LiveApp/whep/cam1'),
                              seconds => 3, timeout => 30);
    my $r = client_wait($play, 45);
    ok($r->{started}, 'a WHEP player decodes it')
        or diag(explain { errors => $r->{errors}, last => $r->{last} });
    my $decoded = ($r->{last}{video}{framesDecoded} // 0)
                - ($r->{first}{video}{framesDecoded} // 0);
    my $span = (($r->{last}{t} // 0) - ($r->{first}{t} // 0)) / 1000;
    ok($span >= 2.9 && $decoded >= 10 * $span,
       sprintf 'framesDecoded rose by %d in %.1f s', $decoded, $span);
    is(join('x', map { $r->{last}{video}{$_} // 0 } qw(frameWidth frameHeight)),
       $camera, "the player sees the camera's size");
    is($r->{stop}{status}, 200, "the player's DELETE: 200");

    # HLS of it
    my ($v, $a) = hls_streams('cam1');
    is($v->{codec_name}, 'h264', 'HLS: H.264');
    is(($v->{width} // 0) . 'x' . ($v->{height} // 0), $camera,
       "HLS: at the camera's size");
    SKIP: {
        skip 'the transcoder has no publisher transform: Opus stays Opus', 1
            unless $aac;
        is($a->{codec_name}, 'aac', 'HLS: AAC audio (Opus -> AAC)');
    }

    $r = client_stop($pub);
    is($r->{stop}{status}, 200, "the publisher's DELETE: 200")
        or diag(explain $r->{errors});
    ok(poll_until(sub { (broadcast('cam1')->{status} // '') ne 'broadcasting' },
                  10), 'and the broadcast ends');
    like(wait_closed("$dir/cam1.m3u8", 10), qr/#EXT-X-ENDLIST/,
         'its playlist is closed');
};
}

# --- aiortc publishes -------------------------------------------------------

subtest 'aiortc publishes by WHIP' => sub {
    my $ai = aiortc_start('whip', "$http/LiveApp/whip/cam2", seconds => 0,
                          timeout => 90, args => ['--size', '640x360']);
    my $s = client_poll($ai, sub { $_[0]{started} }, 20);
    ok($s, 'aiortc publishes: connected')
        or diag(explain(client_status($ai)), slurp($ai->{err}));
    ok(poll_until(sub {
        (broadcast('cam2')->{status} // '') eq 'broadcasting' }, 10),
       'REST: cam2 is broadcasting');
    is(broadcast('cam2')->{publishType}, 'WebRTC', 'publishType WebRTC');
    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/system-resources');
    is($doc->{localWebRTCLiveStreams}, 1,
       'system-resources: localWebRTCLiveStreams 1 (published over WebRTC)');
    is($doc->{localWebRTCViewers}, 0, 'localWebRTCViewers 0');

    # aiortc plays it by WHEP
    my $player = aiortc_start('whep', "$http/LiveApp/whep/cam2",
                              seconds => 3);
    ok(poll_until(sub { (broadcast('cam2')->{webRTCViewerCount} // -1) == 1 },
                  15), 'the player is counted: webRTCViewerCount 1');
    ($st, $doc) = rest($ng, 'GET', '/rest/v2/system-resources');
    is($doc->{localWebRTCViewers}, 1, 'localWebRTCViewers 1');
    my $r = client_wait($player, 45);
    ok($r->{started}, 'an aiortc WHEP player decodes it')
        or diag(explain $r->{errors});
    my $frames = ($r->{last}{video_frames} // 0)
               - ($r->{first}{video_frames} // 0);
    ok($frames >= 30, "$frames frames in 3 s");
    is(($r->{counts}{width} // 0) . 'x' . ($r->{counts}{height} // 0),
       '640x360', 'at 640x360');
    ok(($r->{counts}{audio_frames} // 0) > 0, 'with audio');
    ok(poll_until(sub { (broadcast('cam2')->{webRTCViewerCount} // -1) == 0 },
                  5), 'its DELETE takes it off: webRTCViewerCount 0');

    my ($v, $a) = hls_streams('cam2');
    is(($v->{width} // 0) . 'x' . ($v->{height} // 0), '640x360',
       'HLS of it at 640x360');
    SKIP: {
        skip 'no publisher transform', 1 unless $aac;
        is($a->{codec_name}, 'aac', 'with AAC audio');
    }
    $r = client_stop($ai);
    is($r->{stop}{status}, 200, "aiortc's DELETE: 200");
    is_deeply($r->{errors}, [], 'aiortc: no error');
};

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
