# An RTMP stream (ffmpeg: H.264 640x360 30 fps, AAC 440 Hz) played over
# WHEP.  Headless Chromium, its page opened from file: (another origin,
# so the POST follows a CORS preflight): framesDecoded rises by a
# second's worth of frames and more in 3 s, at 640x360, in H.264 (the
# first picture shown within 3 s of the POST: the GOP cache), and the
# audio arrives as Opus (the AAC -> Opus transform) with energy in it.
# aiortc plays it too (decoded frames at the right size, audio with
# signal).  Each ends with a DELETE: 200, then no more packets arrive,
# and a second DELETE is 404.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;
my $no_browser = webrtc_missing();

my $ng = webrtc_nginx()->start;
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;

my $pub = publish("$rtmp/LiveApp/cam", seconds => 50, size => '640x360',
                  rate => 30);
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/cam.m3u8' }, 20),
   'the RTMP stream is live');

# --- Chromium ---------------------------------------------------------------

SKIP: {
skip $no_browser, 1 if $no_browser;
subtest 'Chromium plays by WHEP' => sub {
    my $page = chromium_start(page_url($ng, 'whep', '/LiveApp/whep/cam',
                                       from => 'file'),
                              seconds => 3, timeout => 30);
    my $r = client_wait($page, 50);
    my ($first, $last) = ($r->{first} // {}, $r->{last} // {});

    is($last->{status}, 201, 'the WHEP POST (after a preflight): 201')
        or diag(explain { errors => $r->{errors}, console => $r->{console} });
    ok($r->{started}, 'Chromium decodes a frame')
        or diag(explain { state => $last->{connectionState},
                          video => $last->{video}, errors => $r->{errors} });
    is($last->{connectionState}, 'connected', 'connected');
    my $decoded = ($last->{video}{framesDecoded} // 0)
                - ($first->{video}{framesDecoded} // 0);
    my $span = (($last->{t} // 0) - ($first->{t} // 0)) / 1000;
    ok($span >= 2.9 && $decoded >= 30 * $span * 0.6,
       sprintf 'framesDecoded rose by %d in %.1f s', $decoded, $span);
    is(($last->{video}{frameWidth} // 0) . 'x'
       . ($last->{video}{frameHeight} // 0), '640x360', 'at 640x360');
    my $setup = ($last->{firstFrameAt} // 1e9) - ($last->{postAt} // 0);
    ok($setup < 3000, sprintf 'the first picture %d ms after the POST '
       . '(from the GOP cache)', $setup);
    is(($last->{element}{width} // 0) . 'x' . ($last->{element}{height} // 0),
       '640x360', 'the video element shows 640x360');
    is($last->{video}{codec}, 'video/H264', 'H.264');
    is($last->{audio}{codec}, 'audio/opus', 'the audio is Opus');
    ok(($last->{audio}{packetsReceived} // 0) > 50,
       "audio packets arrive ($last->{audio}{packetsReceived})");
    ok(($last->{audio}{totalAudioEnergy} // 0) > 0,
       sprintf 'with energy (totalAudioEnergy %.4f)',
               $last->{audio}{totalAudioEnergy} // 0);
    like($last->{transport}{srtpCipher} // '', qr/AES/,
         "SRTP ($last->{transport}{srtpCipher})");
    is($last->{transport}{dtlsRole}, 'client',
       'Chromium is the DTLS client (we answered passive)');
    is($last->{transport}{remote}, "127.0.0.1:$ng->{udp_base}",
       "media from the worker's port");
    is_deeply($r->{errors}, [], 'no error on the page');

    is($r->{stop}{status}, 200, 'DELETE: 200');
    my ($p1, $p2) = @{ $r->{stop}{packets} // [0, 1] };
    is($p2, $p1, 'no packet arrives after the DELETE')
        or diag("packets 0.5 s after the DELETE: $p1, 2 s after: $p2");
    is($r->{stop}{again}, 404, 'a second DELETE: 404');
};
}

# --- aiortc -------------------------------------------------------------------

subtest 'aiortc plays by WHEP' => sub {
    my $ai = aiortc_start('whep', "$http/LiveApp/whep/cam", seconds => 3,
                          timeout => 30);
    my $r = client_wait($ai, 50);

    is($r->{status}, 201, 'aiortc: the WHEP POST is answered 201')
        or diag(explain $r->{errors});
    ok($r->{started}, 'aiortc decodes a frame');
    my $frames = ($r->{last}{video_frames} // 0)
               - ($r->{first}{video_frames} // 0);
    my $span = (($r->{last}{t} // 0) - ($r->{first}{t} // 0)) / 1000;
    ok($span >= 2.9 && $frames >= 30 * $span * 0.6,
       sprintf 'aiortc: %d frames in %.1f s', $frames, $span);
    is(($r->{counts}{width} // 0) . 'x' . ($r->{counts}{height} // 0),
       '640x360', 'aiortc: at 640x360');
    ok(($r->{counts}{audio_frames} // 0) > 50,
       "aiortc: audio frames ($r->{counts}{audio_frames})");
    ok(($r->{counts}{audio_rms} // 0) > 0.01,
       sprintf 'aiortc: with signal (rms %.3f)', $r->{counts}{audio_rms} // 0);
    is($r->{stop}{status}, 200, 'aiortc: DELETE: 200');
    my ($f1, $f2) = @{ $r->{stop}{frames_after} // [0, 1] };
    ok($f2 - $f1 <= 1, "aiortc: no frame after the DELETE ($f1, then $f2)");
    is($r->{stop}{again}, 404, 'aiortc: a second DELETE: 404');
    is_deeply($r->{errors}, [], 'aiortc: no error');
};

unlike($ng->error_log, qr/ams webrtc: .* has B-frames/,
       'no B-frames to drop (x264 ultrafast has none)');

kill 'TERM', $pub;
wait_publisher($pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
