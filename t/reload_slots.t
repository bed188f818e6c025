# Reloads while clients hold connections open: each old generation's
# workers stay until their connections close, and each holds a slot of
# the bus.  100 reloads in a row, with idle RTMP connections opened before
# each, must leave a node that still has workers, answers its REST API
# (liveness once answered 500 after some reloads) and takes a publisher.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $RELOADS = 100;

# idle clients are not closed by the handshake deadline here: they stand
# for any connection that lasts (a 24/7 publisher, a player)
my $ng = Ams::Nginx->new(
    workers       => 2,
    stream_config => <<'EOF',
server {
    listen  127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_handshake_timeout  0;
}
EOF
)->start;
my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';

my @held;
my ($live_ok, $reload_ok) = (0, 0);

for my $i (1 .. $RELOADS) {
    # idle clients, half-way through the handshake: they keep this
    # generation's workers from exiting
    for (1 .. 3) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or next;
        syswrite $s, "\x03" . ("\0" x 700);
        push @held, $s;
    }

    eval { $ng->reload; 1 } and $reload_ok++;

    my ($st, $doc) = (0, undef);
    poll_until(sub {
        ($st, $doc) = rest($ng, 'GET', '/rest/v2/liveness');
        $st == 200 }, 10);
    $live_ok++ if $st == 200 && $doc && $doc->{status} eq 'ok';
}

is($reload_ok, $RELOADS, "$RELOADS reloads were accepted");
is($live_ok, $RELOADS, 'liveness answered 200 after every one of them');

my @workers = $ng->worker_pids;
# a slot table of 64: old generations are bounded by it
ok(@workers >= 2 && @workers <= 66,
   scalar(@workers) . ' nginx workers are running, old generations bounded');

my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/after", seconds => 4,
                  size => '320x240', rate => 15);
is(wait_publisher($pub, 40), 0, 'a publisher is accepted after the reloads');
my ($segs, $ended) = playlist_segments(wait_closed("$dir/after.m3u8", 20));
ok($ended && @$segs, 'and packaged to HLS');

unlike($ng->error_log, qr/worker slots are taken.*\n(?:.*\n)*.*exited with fatal code/,
       'no worker failed to start for want of a bus slot');
is($ng->crashes, '', 'no worker crashed');

close $_ for @held;

done_testing();
