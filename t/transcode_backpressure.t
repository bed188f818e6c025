# Backpressure: a ladder too slow for the machine (x264 veryslow, one
# thread, a 720p source at 25 fps) falls behind; frames are dropped before
# encoding, never by holding up ingest (the original keeps all its
# frames), and the node reports it as AMS does: encoders-blocked while it
# drops, dropFrameCountInEncoding, the encoder queue, and the same in
# /metrics.  Rungs resume at source keyframes, so the rung's keyframes are
# still the source's.  An encoder that cannot open (a 4320p rung of a
# 16:1 picture: more pixels than the 4096x2304 a rung may have) is counted
# as encoders-not-opened and the stream goes on with its other rung; with
# none left it goes on untranscoded.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode)],
    applications => <<'EOF2')->start;
application Slow {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":720,"videoBitrate":1500000,"forceEncode":true}]';
    encoder_preset             veryslow;
    encoder_threads            1;
    encoder_queue              10;
}
application Huge {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":4320,"videoBitrate":1000000,"forceEncode":true}]';
}
application Wide {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":4320,"videoBitrate":1000000,"forceEncode":true},
                        {"height":64,"videoBitrate":100000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $media = $ng->media;

sub resources { (rest($ng, 'GET', '/rest/v2/system-resources'))[1] // {} }

# the encoder that cannot open
my $pub = publish("$rtmp/Wide/w", seconds => 5, size => '1280x80', rate => 25);
is(wait_publisher($pub, 40), 0, 'a 1280x80 stream published');
like(wait_closed("$media/Wide/streams/w_64p100kbps.m3u8", 20),
     qr/#EXT-X-ENDLIST/, 'its 64p rung was packaged');
ok(poll_until(sub { resources()->{'encoders-not-opened'} == 1 }, 10),
   'encoders-not-opened: 1');
like($ng->error_log, qr/rung 4320p: encoder libx264 did not open/,
     'the log says which');
like(scalar `curl -s $http/metrics`, qr/^ams_encoders_not_opened_total 1$/m,
     '/metrics: ams_encoders_not_opened_total 1');

# no rung opens at all: the stream goes on, untranscoded
$pub = publish("$rtmp/Huge/h", seconds => 8, size => '1280x80', rate => 25);
ok(poll_until(sub { resources()->{'encoders-not-opened'} == 2 }, 20),
   'encoders-not-opened: 2');
ok(poll_until(sub { $ng->error_log =~ /ams transcode: "h" ended/
                    && resources()->{transcodedStreams} == 0 }, 10),
   'with no rung left the stream is not counted as transcoded');
is(wait_publisher($pub, 40), 0, 'while its publisher went on');
like(wait_closed("$media/Huge/streams/h.m3u8", 20), qr/#EXT-X-ENDLIST/,
     'and it was packaged to its end');

# the ladder that falls behind
$pub = publish("$rtmp/Slow/s", seconds => 12, size => '1280x720', rate => 25);

my $blocked = poll_until(sub {
    my $r = resources();
    ($r->{'encoders-blocked'} // 0) == 1
        && ($r->{dropFrameCountInEncoding} // 0) > 0 ? $r : undef }, 25);
ok($blocked, 'encoders-blocked 1 while it drops, dropFrameCountInEncoding '
   . ($blocked ? $blocked->{dropFrameCountInEncoding} : 0));
my $m = `curl -s $http/metrics`;
like($m, qr/^ams_encode_dropped_frames_total [1-9]\d*$/m,
     '/metrics: ams_encode_dropped_frames_total');
like($m, qr/^ams_encoder_queue_frames \d+$/m, '/metrics: ams_encoder_queue_frames');

is(wait_publisher($pub, 60), 0, 'published');
my $orig = wait_closed("$media/Slow/streams/s.m3u8", 20);
my ($segs) = playlist_segments($orig);
my $span = 0;
$span += $_->[0] for @$segs;
ok($span >= 11, "the original kept every frame ($span s of 12): ingest was "
   . 'never held up');

ok(poll_until(sub { $ng->error_log =~ /ams transcode: "s" ended: [^\n]* (\d+) dropped behind/
                    && $1 > 0 }, 60),
   'the stream ended with frames dropped behind');

my $r = resources();
is($r->{'encoders-blocked'}, 0, 'encoders-blocked back to 0');
is($r->{encoderQueueSize}, 0, 'the encoder queue empty');

my %src = map { sprintf('%.2f', (split /,/)[0]) => 1 } grep { /,K/ }
    `ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 '$http/Slow/streams/s.m3u8' 2>/dev/null`;
my @rk = map { sprintf('%.2f', (split /,/)[0]) } grep { /,K/ }
    `ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 '$http/Slow/streams/s_720p1500kbps.m3u8' 2>/dev/null`;
ok(@rk >= 1, scalar(@rk) . ' keyframes in the rung');
is_deeply([grep { !$src{$_} } @rk], [],
          'each at one of the source\'s keyframes');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
