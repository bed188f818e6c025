# An RTMP stream (ffmpeg: H.264 640x360 30 fps, AAC 440 Hz) played over
# WHEP.  Headless Chromium, its page opened from file: (another origin,
# so the POST follows a CORS preflight): framesDecoded rises by a
# second's worth of frames and more in 3 s, at 640x360, in H.264 (the
# first picture shown within 3 s of the POST: the GOP cache), and the
# audio arrives as Opus (the AAC -> Opus transform) with energy in it.
# aiortc plays it too (decoded frames at the right size, audio with
# signal).  Each ends with a DELETE: 200, then no more packets arrive,
# and a second DELETE is 404.  What aiortc is sent counts in
# ams_sent_bytes_total{protocol="webrtc"}.
#
# Two workers.  Viewers are counted exactly: webRTCViewerCount goes
# 0 -> 1 -> 2 as aiortc players connect, the second one playing the rung
# cam_opus (and so do localWebRTCViewers,
# totalWebRTCWatchersCount and the /metrics line), back by one at a
# player's DELETE and by one when a player vanishes (killed: its consent
# expires); a DELETE landing on the worker that does not hold the
# session (a second server with reuseport, so connections spread over
# both workers) is 200, a PATCH there is checked (422, 204), and the
# session ends: the count drops to 0.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;
my $no_browser = webrtc_missing();

# consent: aioice and Chromium check every 5 s or so
my $spread = Ams::Nginx::free_port();
my $ng = webrtc_nginx(workers => 2, ams => 'webrtc_consent_timeout 8s;');
$ng->{http_config} = <<"EOF";
server {
    listen  127.0.0.1:$spread reuseport;
    location ~ ^/[^/]+/(whip|whep)/ {
        ams_webrtc  on;
        add_header  X-Worker  \$pid  always;
    }
}
EOF
$ng->start;
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
    my $ports = join '|', $ng->{udp_base}, $ng->{udp_base} + 1;
    like($last->{transport}{remote} // '', qr/^127\.0\.0\.1:($ports)$/,
         "media from a worker's port");
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
    my $sent = webrtc_sent();
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
    # 3 s of 640x360 video and audio are well over 100 kB
    $sent = webrtc_sent() - $sent;
    ok($sent > 100_000,
       "/metrics: ams_sent_bytes_total{protocol=\"webrtc\"} grew by $sent");
};

sub webrtc_sent {
    my $m = http_request($ng, 'GET', '/metrics')->{body} // '';
    return $m =~ /^ams_sent_bytes_total\{protocol="webrtc"\} (\d+)$/m ? $1 : -1e9;
}

# --- viewer counts ------------------------------------------------------------

sub viewers {
    my ($st, $doc) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/cam');
    return $st == 200 ? $doc->{webRTCViewerCount} // -1 : -1;
}

sub count_is {
    my ($n, $within, $what) = @_;
    my $t0 = time;
    my $ok = poll_until(sub { viewers() == $n }, $within);
    ok($ok, sprintf '%s: webRTCViewerCount %d (%.1f s)', $what, $n,
       time - $t0) or diag('webRTCViewerCount ' . viewers());
}

sub player {
    my ($id, @args) = @_;
    my $c = aiortc_start('whep', "$http/LiveApp/whep/$id", seconds => 0,
                         timeout => 60, args => \@args);
    ok(client_poll($c, sub { $_[0]{started} }, 20),
       'an aiortc player decodes') or diag(explain client_status($c));
    return $c;
}

# one request on a kept-alive connection: { status, worker (X-Worker) }
sub raw {
    my ($sock, $method, $path, %o) = @_;
    my $body = $o{body} // '';
    print $sock "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        (map { "$_\r\n" } @{ $o{headers} // [] }),
        'Content-Length: ', length $body, "\r\n\r\n", $body;
    my $head = '';
    while (defined(my $line = <$sock>)) {
        $head .= $line;
        last if $line eq "\r\n";
    }
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    read($sock, my $skip, $len) if $len;
    return { status => ($head =~ m{^HTTP/1\.1 (\d+)})[0] // 0,
             worker => ($head =~ /^X-Worker:\s*(\d+)/mi)[0] // 0 };
}

subtest 'WebRTC viewers are counted exactly' => sub {
    count_is(0, 5, 'no player');

    my $a = player('cam');
    count_is(1, 5, 'one player connected');
    # cam_opus is a rung of cam (the Opus companion the first one reads)
    my $b = player('cam_opus', '--no-stop');
    count_is(2, 5, 'a player of its rung cam_opus counts on cam');

    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/system-resources');
    is($doc->{localWebRTCViewers}, 2,
       'system-resources: localWebRTCViewers 2');
    is($doc->{localWebRTCLiveStreams}, 1,
       'localWebRTCLiveStreams 1 (a stream sent over WebRTC)');
    ($st, $doc) = rest($ng, 'GET',
                       '/LiveApp/rest/v2/broadcasts/cam/broadcast-statistics');
    is($doc->{totalWebRTCWatchersCount}, 2, 'totalWebRTCWatchersCount 2');
    my $m = http_request($ng, 'GET', '/metrics')->{body};
    like($m, qr/^ams_stream_viewers\{app="LiveApp",stream="cam",protocol="webrtc"\} 2$/m,
         '/metrics: ams_stream_viewers{...,protocol="webrtc"} 2');

    # one vanishes (no DELETE, no DTLS close): its consent expires
    kill 'KILL', -$b->{pid};
    client_done($b);
    my $r = client_stop($a);
    is($r->{stop}{status}, 200, "the other one's DELETE: 200");
    count_is(1, 2, 'the DELETE takes one off');
    count_is(0, 12, 'the vanished player, once its consent expired');

    # a DELETE on the worker that does not hold the session
    my $c = player('cam', '--no-stop');
    count_is(1, 5, 'a third player');
    my $s = client_status($c);
    my ($id) = ($s->{location} // '') =~ m{/([0-9a-f]{32})$};
    my ($owner) = $id ? $ng->error_log
        =~ /\] (\d+)#\d+: .*waits for ICE.*session \Q$id\E/ : ();
    $owner //= 0;
    ok($owner, "the worker holding it ($owner)");

    my ($sock, $probe, @kept);
    for (1 .. 40) {
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $spread, Proto => 'tcp')
            or last;
        push @kept, $sock;
        $probe = raw($sock, 'OPTIONS', $s->{location});
        last if $probe->{worker} && $probe->{worker} != $owner;
    }
    ok($probe->{worker} && $probe->{worker} != $owner,
       "a connection to the other worker ($probe->{worker})");
    my @patch = ('Content-Type: application/trickle-ice-sdpfrag',
                 "If-Match: $s->{etag}");
    is(raw($sock, 'PATCH', $s->{location}, headers => \@patch,
           body => "a=ice-ufrag:restart\r\na=ice-pwd:"
                   . ('p' x 24) . "\r\n")->{status},
       422, 'a PATCH there is checked (an ICE restart: 422)');
    is(raw($sock, 'PATCH', $s->{location}, headers => \@patch,
           body => "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
          )->{status}, 204, 'a trickle PATCH there: 204');
    my $p = raw($sock, 'DELETE', $s->{location});
    is($p->{status}, 200, 'a DELETE there: 200');
    is($p->{worker}, $probe->{worker}, 'answered by that worker');
    count_is(0, 3, 'and the session ends');
    like($ng->error_log, qr/session closed: DELETE by the client \(through another worker\).*\Q$id\E/,
         'its worker closed it');
    is(raw($sock, 'DELETE', $s->{location})->{status}, 404,
       'a second DELETE: 404');
    close $_ for @kept;
    client_stop($c);
};

unlike($ng->error_log, qr/ams webrtc: .* has B-frames/,
       'no B-frames to drop (x264 ultrafast has none)');

kill 'TERM', $pub;
wait_publisher($pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
