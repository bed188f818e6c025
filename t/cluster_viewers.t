# Viewer counts across nodes: RTMP players on an origin and on two edges
# that relay its stream add up exactly in the origin's broadcast record
# (each edge writes its own entry, nobody overwrites another's), as read
# from any node; a killed edge's players drop out of the sum once its
# entry is older than broadcast_stale_timeout; the origin killed, its
# stream reads terminated_unexpectedly (a second origin, killed with the
# edge, so that both wait out the stale window at once).

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Rtmp;

my $PERIOD = 1;
my $STALE = 15;          # broadcast_stale_timeout, its least
my $KEY = 'viewers-test-key-' . ('k' x 32);

my $dir = tempdir('ams-viewers-XXXXXX', TMPDIR => 1,
                  CLEANUP => !$ENV{AMS_KEEP});
chmod 0777, $dir;
my $db = "sqlite:$dir/ams.db";

sub node {
    my ($address, $role) = @_;
    my $ng = Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        stream_config => "server { listen $address:\$RTMP_PORT; ams_rtmp; }\n",
        main_config => <<"EOF");
ams {
    storage                    \$MEDIA;
    database                   $db;
    thread_pool                ams;
    bus_zone_size              64m;
    cpu_limit                  100;
    memory_limit               100;
    broadcast_stale_timeout    ${STALE}s;
    node_address               $address;
    node_role                  $role;
    node_update_period         ${PERIOD}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $KEY;
    application LiveApp { hls off; }
}
EOF
    $ng->start;
    $ng->{address} = $address;
    return $ng;
}

# an RTMP player that plays and stays (reads what comes, decodes nothing)
sub viewer {
    my ($ng, $name) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ng->{address},
                                  PeerPort => $ng->rtmp_port,
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    binmode $s;
    my $c = bless { sock => $s }, 'Ams::Rtmp';
    $c->handshake;
    $c->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null());
    $c->created_stream;
    $c->message(type => 20, csid => 8, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('play')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null()
                    . Ams::Rtmp::amf_string($name));
    my $got = $c->read_until(qr/NetStream\.Play\.Start/, 1);
    return $got =~ /NetStream\.Play\.Start/ ? $c : undef;
}

sub record {
    my ($ng, $id) = @_;
    my ($st, $doc) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/'
                          . ($id // 's1'));
    return $st == 200 ? $doc : {};
}

my $origin = node('127.0.0.61', 'origin');
my $edge1 = node('127.0.0.62', 'edge');
my $edge2 = node('127.0.0.63', 'edge');
my $origin2 = node('127.0.0.64', 'origin');

my $pub = publish("rtmp://127.0.0.61:" . $origin->rtmp_port . '/LiveApp/s1',
                  seconds => 120, size => '320x240', rate => 25,
                  log => "$dir/publisher.log");
my $pub2 = publish("rtmp://127.0.0.64:" . $origin2->rtmp_port
                   . '/LiveApp/s2', seconds => 120, size => '320x240',
                   rate => 25, log => "$dir/publisher2.log");
ok(poll_until(sub { (record($edge2)->{status} // '') eq 'broadcasting' }, 15),
   'the stream is live, as the edges read it');
ok(poll_until(sub { (record($edge1, 's2')->{status} // '') eq 'broadcasting' },
              15), 'and the second origin\'s');
my $v2 = viewer($edge1, 's2');
ok($v2, 'played on edge1');

# 1 on the origin, 2 on edge1, 3 on edge2: every one plays
my @v;
push @v, viewer($origin, 's1');
push @v, viewer($edge1, 's1') for 1 .. 2;
push @v, viewer($edge2, 's1') for 1 .. 3;
is(scalar(grep { defined } @v), 6, 'six RTMP players play');

# the edges write their entries at their next refresh (10 s)
my $sum;
ok(poll_until(sub {
    $sum = record($origin)->{rtmpViewerCount} // -1;
    $sum == 6;
}, 15), "the origin's record counts all six (read $sum)");
is(record($edge1)->{rtmpViewerCount}, 6, 'and so does edge1 reading it');
is(record($edge2)->{rtmpViewerCount}, 6, 'and edge2');
my ($st, $stats) = rest($origin, 'GET',
                        '/LiveApp/rest/v2/broadcasts/s1/broadcast-statistics');
is($stats->{totalRTMPWatchersCount}, 6, 'broadcast-statistics too');
($st, my $list) = rest($origin, 'GET', '/LiveApp/rest/v2/broadcasts/list/0/10');
my ($in_list) = grep { $_->{streamId} eq 's1' } @{ ref $list ? $list : [] };
is($in_list && $in_list->{rtmpViewerCount}, 6, 'and the list');
ok(!exists record($origin)->{nodeViewers}, 'in AMS\'s shape');

# edge2 killed: its three players drop out once its entry is stale; and
# the second origin killed (its player gone first)
my $killed = time;
kill 'KILL', $edge2->pid, $edge2->worker_pids;
$edge2->{started} = 0;
undef $v2;
kill 'KILL', $origin2->pid, $origin2->worker_pids;
$origin2->{started} = 0;
ok(poll_until(sub { (record($origin)->{rtmpViewerCount} // -1) == 3 },
              $STALE + 15), 'a killed edge\'s players drop out of the sum');
my $after = time - $killed;
cmp_ok($after, '<=', $STALE + 11,
       sprintf('within broadcast_stale_timeout and a refresh (%.1f s)', $after));

# the second origin killed: its stream reads terminated_unexpectedly
ok(poll_until(sub {
    (record($edge1, 's2')->{status} // '') eq 'terminated_unexpectedly'
}, $STALE + 15), 'the dead origin\'s stream reads terminated_unexpectedly');

undef $_ for @v;
kill 'KILL', $pub, $pub2;
waitpid $_, 0 for $pub, $pub2;
is($edge1->crashes, '', 'no crash on edge1');
is($origin->crashes, '', 'nor on the origin');
$_->stop for $edge1, $origin;

done_testing();
