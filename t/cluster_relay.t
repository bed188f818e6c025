# RTMP across nodes: a stream published on an origin plays from an edge,
# which pulls it once (one RTMP play on the origin, whatever number of
# players, on whichever worker) with a node token, and lets the pull go
# relay_release_time after its last player left.  On the origin a play
# with a valid node token is admitted without the application's play
# controls and is no viewer; a forged or expired one is an ordinary token
# (refused under play_jwt_control, a plain viewer without).  The origin
# killed: the edge's players end, and a new play there gets nothing
# within 4 heartbeat periods.

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Rtmp;

my $PERIOD = 1;          # node_update_period, seconds
my $RELEASE = 2;         # relay_release_time, seconds
my $KEY = 'relay-test-key-' . ('k' x 32);
my $SIZE = '640x360';

my @stores = ('sqlite');
# the wire server, where ./build.sh deps installed it
push @stores, 'mongodb'
    if -d 't/mongo/node_modules/@push.rocks/smartmongo'
    && eval { require Ams::Mongo; 1 };

# the stores' scenarios side by side: each its own process, nodes, ports
# and store (they share nothing; most of their time is waiting)
my @kids;
for my $store (@stores) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        run_subtest("store $store", sub { run_scenario($store) },
                    { buffered => 1 });
        exit 0;
    }
    push @kids, $pid;
}
for my $pid (@kids) {
    waitpid $pid, 0;
    # one that died outside its subtest (a signal) reported nothing
    fail("a store's scenario process died (status $?)") if $?;
}

done_testing();


sub database {
    my ($store) = @_;

    if ($store eq 'mongodb') {
        my $mongo = Ams::Mongo->new;
        return ($mongo->uri, $mongo);
    }

    my $dir = tempdir('ams-relay-XXXXXX', TMPDIR => 1,
                      CLEANUP => !$ENV{AMS_KEEP});
    chmod 0777, $dir;
    return ("sqlite:$dir/ams.db", undef);
}

sub node {
    my (%o) = @_;
    my $ng = Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        stream_config => <<"EOF",
server {
    listen  $o{address}:\$RTMP_PORT;
    ams_rtmp;
}
EOF
        main_config => <<"EOF");
ams {
    storage        \$MEDIA;
    database       $o{db};
    thread_pool    ams;
    bus_zone_size  64m;
    cpu_limit      100;
    memory_limit   100;

    node_address               $o{address};
    node_role                  $o{role};
    node_update_period         ${PERIOD}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $KEY;
    relay_release_time         ${RELEASE}s;
    relay_timeout              5s;

    application LiveApp {
        hls  off;
    }

    application Secure {
        hls                    off;
        play_jwt_control_enabled  on;
        jwt_stream_secret_key  stream-secret-for-the-relay-test-0123456789;
    }
}
EOF
    $ng->start;
    $ng->{address} = $o{address};
    return $ng;
}

sub rtmp_url {
    my ($ng, $path) = @_;
    return "rtmp://$ng->{address}:" . $ng->rtmp_port . "/$path";
}

sub count_of {
    my ($ng, $re) = @_;
    my @m = $ng->error_log =~ /$re/g;
    return scalar @m;
}

sub node_status {
    my ($ng, $id) = @_;
    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/cluster/nodes/0/50');
    return '' unless $st == 200 && ref $doc eq 'ARRAY';
    my ($n) = grep { $_->{id} eq $id } @$doc;
    return $n ? $n->{status} : '';
}

sub broadcast {
    my ($ng, $app, $id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/$app/rest/v2/broadcasts/$id");
    return $st == 200 ? $doc : {};
}

# a player decoding $seconds of $url in the background
sub player {
    my ($url, $seconds, $log) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>', $log if $log;
        open STDOUT, '>', '/dev/null';
        exec 'ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error',
            '-rw_timeout', '15000000', '-i', $url, '-t', $seconds,
            '-f', 'null', '-';
        exit 127;
    }
    return $pid;
}

# plays $name with ?token=$token from a raw client: the status codes the
# server answers within a second (or until Play.Start), and the client
# (still connected)
sub raw_play {
    my ($ng, $app, $name, $token) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ng->{address},
                                  PeerPort => $ng->rtmp_port,
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    binmode $s;
    my $c = bless { sock => $s }, 'Ams::Rtmp';
    $c->handshake;
    $c->connect_app($app);
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null());
    $c->created_stream;
    $c->message(type => 20, csid => 8, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('play')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null()
                    . Ams::Rtmp::amf_string("$name?token=$token"));
    my $got = $c->read_until(qr/NetStream\.Play\.Start/, 1);
    my @codes = $got =~ /(NetStream\.[A-Za-z.]+)/g;
    return (join(' ', @codes), $c);
}

sub run_scenario {
    my ($store) = @_;
    my ($db, $mongo) = database($store);

    my $origin = node(db => $db, address => '127.0.0.41', role => 'origin');
    my $edge = node(db => $db, address => '127.0.0.42', role => 'edge');

    ok(poll_until(sub { node_status($edge, '127.0.0.41') eq 'ALIVE' }, 10),
       'the edge sees the origin ALIVE');

    my $pub = publish(rtmp_url($origin, 'LiveApp/stream1'), seconds => 90,
                      size => $SIZE, rate => 25,
                      log => $origin->prefix . '/publisher.log');
    ok(poll_until(sub {
        (broadcast($edge, 'LiveApp', 'stream1')->{status} // '')
            eq 'broadcasting'
    }, 15), 'the origin\'s stream reads broadcasting from the edge');

    # two players on the edge at once, and a probe of the resolution
    my $t0 = time;
    my @players = map { player(rtmp_url($edge, 'LiveApp/stream1'), 4) } 1 .. 2;
    my $probe = ffprobe(rtmp_url($edge, 'LiveApp/stream1'),
                        '-rw_timeout', '15000000');
    my ($v) = av_streams($probe);
    is(($v->{width} // 0) . 'x' . ($v->{height} // 0), $SIZE,
       "a player on the edge decodes $SIZE");

    for my $p (@players) {
        is(wait_publisher($p, 30), 0, 'a player on the edge decoded 4 s');
    }

    is(count_of($edge, qr/ams rtmp pull: "LiveApp\/stream1" from /), 1,
       'the edge pulled once for every player');
    is(count_of($origin,
                qr/ams access: cluster pull from node "127\.0\.0\.42"/),
       1, 'the origin was played once, with the edge\'s node token');

    # the last player left: the pull goes after relay_release_time
    ok(poll_until(sub {
        count_of($edge, qr/"LiveApp\/stream1" from \S+ ended: no reader left/)
    }, $RELEASE + 5), 'the pull is released after the last player');

    # node tokens on the origin
    my $now = time;
    my $good = jwt_hs256({ sub => 'cluster', iss => 'test', aud => '127.0.0.41',
                           exp => int($now) + 30 }, $KEY);
    my $forged = jwt_hs256({ sub => 'cluster', iss => 'test', aud => '127.0.0.41',
                             exp => int($now) + 30 }, 'another-key' x 4);
    my $expired = jwt_hs256({ sub => 'cluster', iss => 'test', aud => '127.0.0.41',
                              exp => int($now) - 5 }, $KEY);
    my $elsewhere = jwt_hs256({ sub => 'cluster', iss => 'test',
                                aud => '127.0.0.42',
                                exp => int($now) + 30 }, $KEY);

    my ($codes, $c1) = raw_play($origin, 'Secure', 'guarded', $good);
    like($codes, qr/NetStream\.Play\.Start/,
         'a node token plays past play_jwt_control');
    my ($codes2) = raw_play($origin, 'Secure', 'guarded', $forged);
    unlike($codes2, qr/Play\.Start/, 'a forged node token is refused there');
    my ($codes6) = raw_play($origin, 'Secure', 'guarded', $elsewhere);
    unlike($codes6, qr/Play\.Start/,
           'and one made for another node (aud) too');
    my ($codes3) = raw_play($origin, 'Secure', 'guarded', $expired);
    unlike($codes3, qr/Play\.Start/, 'an expired one too');

    my $viewers = sub {
        broadcast($origin, 'LiveApp', 'stream1')->{rtmpViewerCount} // -1
    };
    is($viewers->(), 0, 'no RTMP viewer on the origin now');
    my ($codes4, $c4) = raw_play($origin, 'LiveApp', 'stream1', $good);
    like($codes4, qr/Play\.Start/, 'a node token plays LiveApp');
    is($viewers->(), 0, 'and is no viewer');
    my ($codes5, $c5) = raw_play($origin, 'LiveApp', 'stream1', $forged);
    like($codes5, qr/Play\.Start/,
         'a forged node token plays LiveApp (no play controls)');
    ok(poll_until(sub { $viewers->() == 1 }, 3),
       'as an ordinary viewer, counted');
    undef $_ for $c1, $c4, $c5;

    # a player on the edge before the stream is published anywhere
    my $early = player(rtmp_url($edge, 'LiveApp/late'), 3);
    sleep 2;
    my $late = publish(rtmp_url($origin, 'LiveApp/late'), seconds => 12,
                       size => '320x240', rate => 25,
                       log => $origin->prefix . '/late.log');
    is(wait_publisher($early, 30), 0,
       'a player waiting on the edge plays once the origin has the stream');
    kill 'KILL', $late;
    waitpid $late, 0;

    # MongoDB stopped (a hung server, not a refused one) for longer than
    # the ALIVE window, under a relayed stream: every node record is that
    # old when the store answers again, and the first node back must not
    # take its origin for dead and drop the pull
    if ($mongo) {
        my $through = player(rtmp_url($edge, 'LiveApp/stream1'), 12);
        ok(poll_until(sub {
            count_of($edge, qr/"LiveApp\/stream1" first frame after/) >= 2
        }, 15), 'the edge relays for a player before the outage');
        my $t = time;
        kill 'STOP', $mongo->{pid};
        sleep 4 * $PERIOD + 3;            # the outage, not an assertion
        kill 'CONT', $mongo->{pid};
        is(wait_publisher($through, 40), 0, 'the player decoded 12 s');
        cmp_ok(time - $t, '>=', 9, 'through the outage, not cut short by it');
        is(count_of($edge, qr/"LiveApp\/stream1" from \S+ ended: the origin is gone/),
           0, 'the edge never dropped its pull for a stale origin');
    }

    # the origin killed while the edge relays
    my $pre = count_of($edge, qr/ams rtmp pull: "LiveApp\/stream1" from /);
    my $long = player(rtmp_url($edge, 'LiveApp/stream1'), 60);
    ok(poll_until(sub {
        count_of($edge, qr/"LiveApp\/stream1" first frame after/) >= 2
    }, 15), 'the edge relays again for a new player');

    my $killed = time;
    kill 'KILL', $origin->pid, $origin->worker_pids;
    $origin->{started} = 0;
    isnt(wait_publisher($long, 10), -1,
         'the edge\'s player ends when its origin is killed');

    ok(poll_until(sub { node_status($edge, '127.0.0.41') eq 'DEAD' },
                  4 * $PERIOD + 3), 'the origin reads DEAD on the edge');
    my $dead_after = time - $killed;
    cmp_ok($dead_after, '<=', 4 * $PERIOD + 2,
           "within 4 periods (" . sprintf('%.1f', $dead_after) . " s)");

    my $after = ffprobe(rtmp_url($edge, 'LiveApp/stream1'),
                        '-rw_timeout', '3000000');
    ok(!@{ $after->{streams} || [] }, 'a new play on the edge gets nothing');
    my $pulls = count_of($edge, qr/ams rtmp pull: "LiveApp\/stream1" from /);
    cmp_ok($pulls - $pre, '<=', 3 + 4 * $PERIOD,
           'and the edge did not loop on pulls meanwhile');

    kill 'KILL', $pub;
    waitpid $pub, 0;

    is($edge->crashes, '', 'the edge logged no crash');
    $edge->stop;
}
