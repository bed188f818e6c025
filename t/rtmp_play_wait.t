# A player that asks for a stream before it is published waits for it
# (answering our pings, so a short ams_rtmp_timeout does not drop it),
# then plays it; when the publisher stops it is told so and ffmpeg ends.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(stream_config => <<'EOF2')->start;
server {
    listen            127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_timeout  2s;
}
EOF2

my $url = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/later';
my $out = $ng->prefix . '/played.flv';

# the player first: ffmpeg copies what it gets into a file
my $player = fork // die;
if ($player == 0) {
    open STDERR, '>', $ng->prefix . '/player.log';
    exec 'ffmpeg', '-nostdin', '-v', 'error', '-rw_timeout', '30000000',
         '-i', $url, '-c', 'copy', '-f', 'flv', $out;
    exit 127;
}

ok(poll_until(sub { $ng->error_log =~ /play "LiveApp\/later"/ }, 10),
   'the player is waiting');
sleep 5;     # longer than ams_rtmp_timeout: pings keep it
ok(kill(0, $player), 'and still connected after 2.5 timeouts');

my $pub = publish($url, seconds => 5, size => '640x360');
is(wait_publisher($pub, 30), 0, 'the publisher came and went');
is(wait_publisher($player, 20), 0, 'the player ended by itself after it');

my $probe = ffprobe($out);
my ($v) = av_streams($probe);
is($v && "$v->{width}x$v->{height}", '640x360', 'it got the video');
my $dur = $probe->{format}{duration} // 0;
ok($dur >= 4, "about all of it ($dur s of 5)");
unlike($ng->error_log, qr/client timed out/, 'no one timed out');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
