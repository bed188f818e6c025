# A publisher whose bitrate collapses (a busy picture, then a still one):
# the socket low watermark tuned to the first part must not hold the
# second back.  HLS keeps up and ends on time.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new->start;
my $dir = $ng->media . '/LiveApp/streams';

my $graph = 'testsrc2=size=1280x720:rate=30:duration=5[a];'
          . 'color=c=gray:size=1280x720:rate=30:duration=5[b];'
          . '[a][b]concat=n=2:v=1:a=0';

my $start = time;
my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/drop',
                  seconds => 10, video => $graph, audio => 0,
                  extra => ['-b:v', '3000k']);

# segment 3 closes at the keyframe 8 s in, in the still part, where a
# watermark sized for the busy part would hold the stream back seconds
ok(poll_until(sub { (slurp("$dir/drop.m3u8") // '') =~ /drop000000003\.ts/ }, 15),
   'segments keep closing after the bitrate fell');
my $late = time - $start - 8;
ok($late < 1.5, sprintf('and on time (%.2f s after its keyframe)', $late));

is(wait_publisher($pub, 30), 0, 'published');
my $end = time;
ok(poll_until(sub { (slurp("$dir/drop.m3u8") // '') =~ /#EXT-X-ENDLIST/ }, 5),
   'the playlist ends right after the publisher: '
   . sprintf('%.1f s', time - $end));

my $probe = ffprobe("$dir/drop.m3u8");
my $dur = $probe->{format}{duration} // 0;
ok(abs($dur - 10) <= 1, "all 10 s are there ($dur)");

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
