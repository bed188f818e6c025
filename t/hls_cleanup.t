# delete_hls_files_on_ended (AMS's deleteHLSFilesOnEnded, on by default):
# once a stream ends, its playlist and segments go, after players had
# hls_time x (hls_list_size + 1) to fetch the last ones.  The sliding
# window removes old segments while live.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time       1s;
    hls_list_size  2;
    dash           on;
}
EOF2

my $dir = $ng->media . '/LiveApp/streams';

my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/gone',
                  seconds => 14, size => '320x240', rate => 25);

# keyframes every 2 s: each segment is 2 s
ok(poll_until(sub { -e "$dir/gone000000005.ts" }, 20), 'segments pile up');
my @ts = glob "$dir/gone*.ts";
ok(@ts <= 2 + 2 + 1, 'but only the window and two more stay on disk ('
   . scalar(@ts) . ')');
ok(!-e "$dir/gone000000000.ts", 'the first segment was removed');

is(wait_publisher($pub, 30), 0, 'published');
my $ended = time;
ok(poll_until(sub { (slurp("$dir/gone.m3u8") // '') =~ /#EXT-X-ENDLIST/ }, 2),
   'the playlist ended');

ok(poll_until(sub { !-e "$dir/gone.m3u8" && !glob("$dir/gone*.ts") }, 15),
   'playlist and segments are removed after the stream ends');
my $after = time - $ended;
ok($after >= 2, sprintf('not before players had time (%.1f s)', $after));
ok(poll_until(sub { !-e "$dir/gone/gone.mpd" && !-d "$dir/gone" }, 5),
   'and the DASH files with their directory');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
