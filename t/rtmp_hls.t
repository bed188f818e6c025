# ffmpeg publishes over RTMP; ffprobe reads the HLS with the published
# resolution, codecs and duration; RTMP players on another worker decode;
# a second publisher of the same id is refused and the first goes on.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Ams::Nginx;
use Ams::Media;

# reuseport: the kernel spreads connections over the workers, so players
# land on the worker that does not hold the publisher
my $ng = Ams::Nginx->new(workers => 2, stream_config => <<'EOF2')->start;
server {
    listen  127.0.0.1:$RTMP_PORT reuseport;
    ams_rtmp;
}
EOF2
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';

my $seconds = 8;
my $t0 = time;
my $pub = publish("$rtmp/stream1", seconds => $seconds);

ok(poll_until(sub { -s "$dir/stream1.m3u8" }, 15),
   'the playlist appears while publishing');

# a second publisher of the same stream id
my $log2 = $ng->prefix . '/second.log';
my $pub2 = publish("$rtmp/stream1", seconds => 3, log => $log2);
my $rc2 = wait_publisher($pub2, 20);
isnt($rc2, 0, 'a second publisher of stream1 is refused');
like($ng->error_log, qr/publish refused: "LiveApp\/stream1" is already publishing/,
     'and the refusal is logged');

# players until one lands on the worker that does not hold the publisher
my ($pub_pid) = $ng->error_log =~ /(\d+)#\d+: \*\d+ ams rtmp: publish "LiveApp\/stream1"/;
ok($pub_pid, "publisher runs in worker $pub_pid");

my $other;
for my $try (1 .. 20) {
    my $probe = ffprobe("$rtmp/stream1", '-rw_timeout', '5000000');
    my ($v) = av_streams($probe);
    my @plays = $ng->error_log =~ /(\d+)#\d+: \*\d+ ams rtmp: play "LiveApp\/stream1"/g;
    if ($v && @plays && $plays[-1] ne $pub_pid) {
        $other = $v;
        last;
    }
}
ok($other, 'an RTMP player on another worker gets the stream');
is($other && "$other->{width}x$other->{height}", '1280x720',
   'and decodes 1280x720 H.264') if $other;

is(wait_publisher($pub, 40), 0, 'the first publisher ran to its end');
my $published = time - $t0;

my ($segs, $ended) = playlist_segments(wait_closed("$dir/stream1.m3u8"));
ok($ended, 'the playlist ends with EXT-X-ENDLIST after the publisher stops');
ok(@$segs >= 3, scalar(@$segs) . ' segments listed');

my $bad = grep { $_->[0] > 2 * 1.5 || $_->[0] < 0.5 } @$segs[0 .. $#$segs - 1];
is($bad, 0, 'segments are cut near hls_time (2 s)');

my $probe = ffprobe("$http/stream1.m3u8");
my ($v, $a) = av_streams($probe);
is($v && $v->{codec_name}, 'h264', 'HLS video is H.264');
is($v && "$v->{width}x$v->{height}", '1280x720', 'at the published size');
is($a && $a->{codec_name}, 'aac', 'HLS audio is AAC');

my $dur = $probe->{format}{duration} // 0;
ok(abs($dur - $seconds) <= $seconds * 0.1,
   "HLS duration $dur s is within 10% of the $seconds s published");

# every segment decodes end to end
my $frames = `ffmpeg -v error -i '$http/stream1.m3u8' -map 0:v -f null - -progress - 2>&1 | grep '^frame=' | tail -1`;
my ($n) = $frames =~ /frame=(\d+)/;
ok($n && abs($n - $seconds * 30) <= $seconds * 3,
   "decoded " . ($n // 0) . " video frames of " . $seconds * 30);


is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
