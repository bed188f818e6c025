# Workers that exit with a transcoded stream: after a reload the old
# worker keeps its publisher and its rungs until the publisher leaves,
# then exits cleanly (its rungs' writers leave nothing open); a new
# publish is transcoded by the new worker; a stop (SIGTERM) ends a live
# parent and its rungs at once, playlists closed.  No worker crashes.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode)],
    applications => <<'EOF2')->start;
application LiveApp {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":120,"videoBitrate":150000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
EOF2

my $dir = $ng->media . '/LiveApp/streams';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';

my $pub = publish("$rtmp/a", seconds => 8, size => '320x240', rate => 25);
ok(poll_until(sub { -s "$dir/a_120p150kbps.m3u8" }, 30), 'the rung is live');

# the old worker keeps its publisher until it leaves, then exits
$ng->reload;
is(wait_publisher($pub, 30), 0, 'the publisher finished on the old worker');
like(wait_closed("$dir/a_120p150kbps.m3u8", 20), qr/#EXT-X-ENDLIST/,
     'the rung ended with its parent');
ok(poll_until(sub { $ng->error_log =~ /worker process \d+ exited with code 0/ },
              20), 'the old worker exited');

$pub = publish("$rtmp/b", seconds => 60, size => '320x240', rate => 25);
ok(poll_until(sub { -s "$dir/b_120p150kbps.m3u8" }, 30),
   'the new worker transcodes a new publish');

$ng->stop;
like(wait_closed("$dir/b_120p150kbps.m3u8", 10), qr/#EXT-X-ENDLIST/,
     'a stop ends the rung too');
wait_publisher($pub, 20);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
