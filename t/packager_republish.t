# A stream published again while its previous publish's files wait for
# their deletion delay: the old packager's cleanup must leave the new
# stream's files alone.  Its mtime checks (nothing newer than its end)
# keep most of them; a file the new stream wrote within the second the
# old one ended is not newer, so the cleanup (and the closing of a dead
# worker's stream) now first asks the bus whether the name is live
# under another generation, and if so does nothing and says why.  The
# new stream keeps a keyframe each 5 s: no manifest of its own before
# the old cleanup is due.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

# deletion delay: hls_time x (hls_list_size + 1) = 3 s
my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time       1s;
    hls_list_size  2;
    dash           on;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $dir = $ng->media . '/LiveApp/streams';
my $mpd = "$dir/r1/r1.mpd";

my $pub = publish("$rtmp/r1", seconds => 3, size => '320x240', rate => 25);
is(wait_publisher($pub, 20), 0, 'a stream was published');
ok(poll_until(sub { -e $mpd && slurp($mpd) =~ /type="static"/ }, 15),
   'and ended');
my $ended = time;

sleep 1;

$pub = publish("$rtmp/r1", seconds => 20, size => '320x240', rate => 25,
               extra => [ '-g', 125, '-keyint_min', 125 ]);
ok(poll_until(sub { -e "$dir/r1/video_init.mp4"
                    && (stat "$dir/r1/video_init.mp4")[9] >= int($ended) },
              10),
   'the same name is published again, its init segment written');

# past the old stream's deletion delay, and the new one's first segment
sleep 1 while time < $ended + 4;
ok(-e "$dir/r1/video_init.mp4",
   'the old stream\'s cleanup left the new stream\'s init segment');
ok(poll_until(sub { slurp($mpd) =~ /type="dynamic"/ }, 10),
   'the new stream\'s MPD is live');
ok(-e "$dir/r1/video_init.mp4" && -e "$dir/r1.m3u8",
   'and its files are there');
like($ng->error_log, qr/"r1" is live again: its files stay/,
     'the old cleanup said why it did nothing');

kill 'KILL', $pub;
waitpid $pub, 0;

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alerts');

$ng->stop;

done_testing;
