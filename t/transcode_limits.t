# The transcoder's thread pool and the pool's limits (review of
# 2026-12-01, findings 5 and 8).  By default encoding runs in nginx's
# "default" pool, not the ams block's (the packager's): no warning, and a
# ladder is still encoded.  Naming the ams block's pool is warned about.
# A pool whose queue is full (one thread, a queue of one, six streams at
# once) refuses posts: each is retried, so every stream is encoded to
# its end (END included) and none stays counted as transcoded.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ladder = <<'EOF2';
application LiveApp {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":120,"videoBitrate":150000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
EOF2

sub resources {
    my ($ng) = @_;
    return (rest($ng, 'GET', '/rest/v2/system-resources'))[1] // {};
}

# the default: its own pool
my $ng = Ams::Nginx->new(modules => [qw(core ingest packager api transcode)],
                         applications => $ladder)->start;
my $dir = $ng->media . '/LiveApp/streams';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';

my $pub = publish("$rtmp/d", seconds => 4, size => '320x240', rate => 25);
is(wait_publisher($pub, 40), 0, 'published');
like(wait_closed("$dir/d_120p150kbps.m3u8", 20), qr/#EXT-X-ENDLIST/,
     'default_pool: the rung encoded in nginx\'s default pool');
unlike($ng->error_log, qr/shares the ams block's thread pool/,
       'default_pool: not the ams block\'s, no warning');

# nginx's "default" pool has 32 threads, the ams block's here 2
my ($worker) = $ng->error_log =~ /start worker process (\d+)/;
my ($threads) = (Ams::Media::slurp("/proc/$worker/status") // '')
    =~ /^Threads:\s+(\d+)/m;
ok(($threads // 0) >= 32, 'default_pool: the worker runs nginx\'s default '
   . 'pool beside the ams block\'s (' . ($threads // '?') . ' threads)');
$ng->stop;
is($ng->crashes, '', 'no worker crashed');

# the ams block's pool named: a warning
(my $shared = Ams::Nginx::default_ams($ladder))
    =~ s/(thread_pool    ams;)/$1\n    transcode_thread_pool  ams;/;
$ng = Ams::Nginx->new(modules => [qw(core ingest packager api transcode)],
                      main_config => $shared)->start;
ok(poll_until(sub { $ng->error_log =~ /shares the ams block's thread pool/ },
              10), 'shared_pool: the worker warns');
$ng->stop;

# a full pool: posts refused, retried; tasks long enough (360p at x264's
# medium) that six streams find the one thread busy and its queue taken
my $slow = <<'EOF2';
application LiveApp {
    delete_hls_files_on_ended  off;
    encoder_settings  '[{"height":360,"videoBitrate":800000,"forceEncode":true}]';
    encoder_preset             medium;
}
EOF2
(my $full = Ams::Nginx::default_ams($slow))
    =~ s/(thread_pool    ams;)/$1\n    transcode_thread_pool  tc;/;
$ng = Ams::Nginx->new(modules => [qw(core ingest packager api transcode)],
                      top_config => 'thread_pool  tc threads=1 max_queue=1;',
                      main_config => $full)->start;
$dir = $ng->media . '/LiveApp/streams';
$rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';

my @pubs = map { publish("$rtmp/f$_", seconds => 4, size => '640x360',
                         rate => 25) } 1 .. 6;
is(wait_publisher($_, 60), 0, 'a publisher finished') for @pubs;

for my $i (1 .. 6) {
    like(wait_closed("$dir/f${i}_360p800kbps.m3u8", 60), qr/#EXT-X-ENDLIST/,
         "post_retry: stream ${i}'s rung ended");
}

like($ng->error_log, qr/thread pool "tc" queue overflow/,
     'post_retry: the pool did refuse posts');
ok(poll_until(sub { (resources($ng)->{transcodedStreams} // -1) == 0 }, 20),
   'post_retry: no stream left counted as transcoded');
is($ng->crashes, '', 'no worker crashed');

done_testing();
