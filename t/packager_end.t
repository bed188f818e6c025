# Files outlive the worker that wrote them.  A stop (SIGTERM, as Ctrl-C)
# closes live streams' playlists (EXT-X-ENDLIST, a static MPD); a worker
# killed mid-stream has its playlists closed by the worker that notices;
# and files of ended streams are removed after the deletion delay even when
# the worker that would have removed them is gone (a reload, a stop): a
# new worker sweeps them, never touching a live stream's files.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

# deletion delay: hls_time x (hls_list_size + 1) = 3 s; "slow" has 2 s, and
# a stream whose GOP (8 s) is longer than that
my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time       1s;
    hls_list_size  2;
    dash           on;
}
application Slow {
    hls_time       1s;
    hls_list_size  1;
}
EOF2

my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';

sub gone {
    my ($id) = @_;
    return !-e "$dir/$id.m3u8" && !glob("$dir/$id*.ts") && !-e "$dir/$id";
}

# --- a reload right after a stream ended ------------------------------------

my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/ended1", seconds => 3,
                  size => '320x240', rate => 25);
is(wait_publisher($pub, 20), 0, 'a stream was published');
like(wait_closed("$dir/ended1.m3u8"), qr/#EXT-X-ENDLIST/, 'and ended');
$ng->reload;
ok(-e "$dir/ended1.m3u8", 'a reload before its deletion delay');
ok(poll_until(sub { gone('ended1') }, 15),
   'a new worker removes its files all the same');

# --- a live stream's files are never swept ----------------------------------

# 14 s: its first playlist (at 8 s) lives 6 s, three times the 2 s delay
my $slow = publish("rtmp://127.0.0.1:$port/Slow/gop8", seconds => 14,
                   size => '320x240', rate => 25, extra => [ '-g', 200 ]);
my $sdir = $ng->media . '/Slow/streams';
ok(poll_until(sub { -e "$sdir/gop8.m3u8" }, 20), 'a stream with 8 s GOPs');
my $vanished = 0;
while (waitpid($slow, POSIX::WNOHANG()) == 0) {
    $vanished++ unless -e "$sdir/gop8.m3u8";
    sleep 0.2;
}
is($vanished, 0, 'its playlist stays while it is live, older than the '
   . 'delay or not');

# --- a stop while a stream is live ------------------------------------------

$pub = publish("rtmp://127.0.0.1:$port/LiveApp/live1", seconds => 60,
               size => '320x240', rate => 25);
ok(poll_until(sub { -e "$dir/live1000000002.ts" && -e "$dir/live1/live1.mpd" },
              20), 'a live stream');
$ng->stop;
wait_publisher($pub, 10);
like(slurp("$dir/live1.m3u8") // '', qr/#EXT-X-ENDLIST\n\z/,
     'after a stop its playlist ends with EXT-X-ENDLIST');
like(slurp("$dir/live1/live1.mpd") // '', qr/type="static"/,
     'and its MPD is static');
ok(-e "$dir/live1.m3u8", 'its files stay while no worker runs');

$ng->start;
ok(poll_until(sub { gone('live1') }, 15),
   'the next start removes them after the delay');

# --- a worker killed mid-stream ---------------------------------------------

$pub = publish("rtmp://127.0.0.1:$port/LiveApp/killed", seconds => 60,
               size => '320x240', rate => 25);
ok(poll_until(sub { -e "$dir/killed000000002.ts" && -e "$dir/killed/killed.mpd" },
              20), 'a live stream');
my ($worker) = $ng->worker_pids;
kill 'KILL', $worker;
wait_publisher($pub, 10);
my $t0 = time;
like(wait_closed("$dir/killed.m3u8", 10), qr/#EXT-X-ENDLIST\n\z/,
     'a killed worker\'s playlist is closed by the next one');
like(wait_closed("$dir/killed/killed.mpd", 10), qr/type="static"/,
     'and its MPD made static');
# (none written while live: none to wait for)
my $fmp4 = "$dir/killed/video.m3u8";
like(-e $fmp4 ? wait_closed($fmp4, 10) : '', qr/^$|#EXT-X-ENDLIST/,
     'fMP4 media playlists, where there are some, too');
ok(poll_until(sub { gone('killed') }, 15), 'then its files are removed');
ok(time - $t0 >= 2, 'after the delay');

my @crashes = grep { !/exited on signal 9/ } split /\n/, $ng->crashes;
is("@crashes", '', 'no other worker crashed or tripped a sanitizer');

done_testing();
