# The transcoder's ladder: a 720p RTMP publish (testsrc2 + sine, AAC, a
# keyframe every 2 s) with encoder_settings of 720p (forced), 480p, 360p
# and 1080p (taller than the source: skipped) yields rung streams
# {id}_{height}p{kbps}kbps whose HLS ffprobe reads at the rung's size,
# with the audio passed through (or re-encoded at the rung's
# audioBitrate), an average video bitrate within 20% of the rung's, and segments cut where the original's are (same count,
# boundaries within one frame).  An RTMP player plays a rung.  The node's
# counters show the stream while it is transcoded; REST's application
# settings change the ladder for the streams that start after.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ladder = '[{"height":720,"videoBitrate":1500000,"forceEncode":true},'
           . '{"height":480,"videoBitrate":800000,"audioBitrate":32000},'
           . '{"height":360,"videoBitrate":500000},'
           . '{"height":1080,"videoBitrate":3000000}]';

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode)],
    applications => <<"EOF")->start;
application LiveApp {
    delete_hls_files_on_ended  off;
    encoder_settings           '$ladder';
    encoder_preset             ultrafast;
}
EOF

my $dir = $ng->media . '/LiveApp/streams';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $seconds = 12;
my $fps = 25;

# width, height, video b/s, audio b/s (the source's 64k passed through,
# or re-encoded at the rung's audioBitrate)
my %rungs = (s1_720p1500kbps => [1280, 720, 1500000, 64000],
             s1_480p800kbps  => [854, 480, 800000, 32000],
             s1_360p500kbps  => [640, 360, 500000, 64000]);

my $pub = publish("$rtmp/s1", seconds => $seconds, size => '1280x720',
                  rate => $fps, log => $ng->prefix . '/publisher.log');

ok(poll_until(sub { -s "$dir/s1_360p500kbps.m3u8" }, 30),
   'the 360p rung is packaged while the source is live');

my ($st, $res) = rest($ng, 'GET', '/rest/v2/system-resources');
is($res->{transcodedStreams}, 1, 'system-resources: one transcoded stream');
ok(defined $res->{'encoders-blocked'} && defined $res->{'encoders-not-opened'}
   && defined $res->{dropFrameCountInEncoding}
   && defined $res->{encoderQueueSize},
   "AMS's encoder fields are there");
like(scalar `curl -s $http/metrics`, qr/^ams_transcoded_streams 1$/m,
     '/metrics: ams_transcoded_streams 1');

# an RTMP player of a rung gets the rung's picture
my $probe = ffprobe("$rtmp/s1_480p800kbps", '-rw_timeout', '10000000');
my ($pv) = av_streams($probe);
is($pv && "$pv->{width}x$pv->{height}", '854x480',
   'RTMP play of the 480p rung: 854x480');

is(wait_publisher($pub, 60), 0, 'published');

my $orig = wait_closed("$dir/s1.m3u8", 20);
my ($osegs) = playlist_segments($orig);
ok(@$osegs >= 5, scalar(@$osegs) . ' segments of the original');

ok(!-e "$dir/s1_1080p3000kbps.m3u8", 'no 1080p rung for a 720p source');
like(scalar `cat ${\ $ng->prefix}/logs/error.log`,
     qr/no 1080p rung for a 720p source/, 'and the log says why');

for my $rung (sort keys %rungs) {
    my ($w, $h, $bps, $abps) = @{ $rungs{$rung} };
    my $text = wait_closed("$dir/$rung.m3u8", 20);
    like($text, qr/#EXT-X-ENDLIST/, "$rung: its playlist ended");

    my $p = ffprobe("$http/LiveApp/streams/$rung.m3u8");
    my ($v, $a) = av_streams($p);
    is($v && "$v->{codec_name} $v->{width}x$v->{height}", "h264 ${w}x$h",
       "$rung: H.264 at ${w}x$h");
    is($a && $a->{codec_name}, 'aac', "$rung: AAC");

    # the audio's bytes over the same span: passed through or re-encoded
    my $abytes = 0;
    my @apts;
    for (`ffprobe -v error -select_streams a:0 -show_entries packet=pts_time,size -of csv=p=0 '$http/LiveApp/streams/$rung.m3u8' 2>/dev/null`) {
        next unless /^([\d.]+),(\d+)/;
        push @apts, $1;
        $abytes += $2;
    }
    my $aspan = @apts ? $apts[-1] - $apts[0] : 0;
    my $arate = $aspan ? $abytes * 8 / $aspan : 0;
    ok(abs($arate - $abps) <= 0.25 * $abps,
       sprintf("$rung: audio %.0f kb/s (%s %d)", $arate / 1000,
               $abps == 64000 ? 'passed through at' : 're-encoded at',
               $abps / 1000));
    ok($aspan > $seconds - 1, sprintf("$rung: %.1f s of audio", $aspan));

    # the video's own bytes over its span
    my ($bytes, $n) = (0, 0);
    for (`ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 '$http/LiveApp/streams/$rung.m3u8' 2>/dev/null`) {
        next unless /^(\d+)/;
        $bytes += $1;
        $n++;
    }
    my $span = video_span("$http/LiveApp/streams/$rung.m3u8");
    my $rate = $span ? $bytes * 8 / $span : 0;
    ok(abs($rate - $bps) <= 0.2 * $bps,
       sprintf("$rung: %.0f kb/s on average, within 20%% of %d (%d frames "
               . "in %.2f s)", $rate / 1000, $bps / 1000, $n, $span));

    # keyframe-aligned: the same cuts as the original's
    my ($segs) = playlist_segments($text);
    is(scalar @$segs, scalar @$osegs, "$rung: as many segments as the "
       . 'original');
    my @off = grep { abs($segs->[$_][0] - $osegs->[$_][0]) > 1 / $fps + 0.001 }
              0 .. $#$osegs;
    is_deeply(\@off, [], "$rung: each segment within one frame of the "
              . "original's")
        or diag(join ' ', map { "$osegs->[$_][0]/"
                                . ($segs->[$_] ? $segs->[$_][0] : '-') }
                          0 .. $#$osegs);
}

# keyframes exactly where the source's are
my @keys = map { sprintf '%.3f', $_ } grep { length }
    map { (split /,/)[0] }
    grep { /,K/ }
    `ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 '$http/LiveApp/streams/s1.m3u8' 2>/dev/null`;
my @rkeys = map { sprintf '%.3f', $_ } grep { length }
    map { (split /,/)[0] }
    grep { /,K/ }
    `ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 '$http/LiveApp/streams/s1_360p500kbps.m3u8' 2>/dev/null`;
ok(@keys >= 5, scalar(@keys) . ' keyframes in the original');
is("@rkeys", "@keys", 'the 360p rung has its keyframes at the same times');

($st, $res) = rest($ng, 'GET', '/rest/v2/system-resources');
is($res->{transcodedStreams}, 0, 'no transcoded stream once it ended');

# REST's application settings: a new ladder for the next stream
my $path = '/rest/v2/applications/settings/LiveApp';
($st, $res) = rest($ng, 'GET', $path);
is(scalar @{ $res->{encoderSettings} // [] }, 4,
   'settings export encoderSettings: four rungs');
is($res->{encoderSettings}[0]{height}, 1080, '  tallest first');

($st, $res) = rest($ng, 'POST', $path,
                   body => { encoderSettings => [{ height => 17 }] });
ok($res && !$res->{success}, 'a bad ladder is refused');

($st, $res) = rest($ng, 'POST', $path, body => {
    encoderSettings => [{ height => 240, videoBitrate => 300000,
                          audioBitrate => 0, forceEncode => JSON::PP::false }]
});
ok($res && $res->{success}, 'a one-rung ladder is accepted');
ok(poll_until(sub {
       my (undef, $d) = rest($ng, 'GET', $path);
       $d && @{ $d->{encoderSettings} // [] } == 1 }, 5),
   'and shown');

$pub = publish("$rtmp/s2", seconds => 4, size => '640x360', rate => $fps);
is(wait_publisher($pub, 40), 0, 'a second stream published');
like(wait_closed("$dir/s2_240p300kbps.m3u8", 20), qr/#EXT-X-ENDLIST/,
     'it has the new ladder\'s rung');
ok(!-e "$dir/s2_360p500kbps.m3u8", 'and not the old ones');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
