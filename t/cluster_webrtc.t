# WebRTC in the local cluster (examples/cluster/local.sh: the MongoDB
# wire server, one origin, two edges, the balancer; two workers a node),
# through the balancer only.  ffmpeg publishes RTMP to the origin; an
# aiortc WHEP player POSTs to the balancer, which takes it to an edge by
# the stream id: the edge pulls the stream from the origin (its relay)
# and waits for it before answering, the answer names the edge's own
# address and port (media goes there directly), the player decodes the
# video at the published size and the audio (AAC -> Opus on the edge),
# and its DELETE through the balancer reaches the same edge and ends the
# session.  Then WHIP through the balancer publishes on the origin, and
# an edge plays that stream back by Ant Media's WebSocket (an offer after
# the pull) and by WHEP.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;
use Ams::WebSocket;

use FindBin;
my $root = "$FindBin::Bin/..";

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;
plan skip_all => 'needs the MongoDB wire server (t/mongo/node_modules)'
    unless -d "$root/t/mongo/node_modules/\@push.rocks/smartmongo";

my $prefix = tempdir('ams-cwebrtc-XXXXXX', TMPDIR => 1,
                     CLEANUP => !$ENV{AMS_KEEP});
chmod 0755, $prefix;

my %port = map { $_ => Ams::Nginx::free_port() }
    qw(HTTP RTMP RTMP_PLAY NODE_HTTP NODE_RTMP MONGO);
my $udp = free_udp_base(21);     # nodes 0, 1, 2: +0, +10, +20

my %addr = (origin1 => '127.0.0.11', edge1 => '127.0.0.21',
            edge2 => '127.0.0.22');

$ENV{AMS_CLUSTER_PREFIX} = $prefix;
$ENV{AMS_CLUSTER_HTTP} = $port{HTTP};
$ENV{AMS_CLUSTER_RTMP} = $port{RTMP};
$ENV{AMS_CLUSTER_RTMP_PLAY} = $port{RTMP_PLAY};
$ENV{AMS_CLUSTER_NODE_HTTP} = $port{NODE_HTTP};
$ENV{AMS_CLUSTER_NODE_RTMP} = $port{NODE_RTMP};
$ENV{AMS_MONGO_PORT} = $port{MONGO};
$ENV{AMS_CLUSTER_WEBRTC_PORT} = $udp;
# two workers per node: the DELETE may reach the node's other one
$ENV{AMS_CLUSTER_WORKERS} = 2;
$ENV{AMS_CLUSTER_NODES} = join "\n",
    map { "$_ " . (/origin/ ? 'origin' : 'edge') . " $addr{$_} default" }
    qw(origin1 edge1 edge2);

my $local = "$root/examples/cluster/local.sh";

sub cluster { my $out = `'$local' @_ 2>&1`; return ($? >> 8, $out) }

my ($rc, $out) = cluster('start');
is($rc, 0, 'local.sh start') or diag($out);
END { cluster('stop') if $prefix }

my $lb = bless { ports => { HTTP_PORT => $port{HTTP} } }, 'Ams::Nginx';
my $http = "http://127.0.0.1:$port{HTTP}";

ok(poll_until(sub {
    my ($st, $doc) = rest($lb, 'GET', '/rest/v2/cluster/nodes/0/10');
    $st == 200 && ref $doc eq 'ARRAY'
        && (grep { ($_->{status} // '') eq 'ALIVE' } @$doc) == 3;
}, 20), 'three nodes ALIVE');

sub broadcasting {
    my ($id) = @_;
    my ($st, $doc) = rest($lb, 'GET', "/LiveApp/rest/v2/broadcasts/$id");
    return $st == 200 && ($doc->{status} // '') eq 'broadcasting';
}

sub edge_log {
    my ($edge) = @_;
    return slurp("$prefix/$edge/logs/error.log") // '';
}

# the edge (name) whose address and UDP port the answer's candidate names
sub answered_by {
    my ($sdp) = @_;
    my ($ip, $p) = ($sdp // '')
        =~ /^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host/mi;
    return '' unless $ip;
    my %udp = (origin1 => $udp, edge1 => $udp + 10, edge2 => $udp + 20);
    # a node's workers: its base and base + 1
    my ($name) = grep { $addr{$_} eq $ip && $p >= $udp{$_}
                        && $p < $udp{$_} + $ENV{AMS_CLUSTER_WORKERS} }
                 keys %addr;
    return $name // "$ip:$p";
}

# an aiortc WHEP player through the balancer: its result and the answer
sub whep {
    my ($id) = @_;
    my $ai = aiortc_start('whep', "$http/LiveApp/whep/$id", seconds => 2,
                          timeout => 20);
    my $s = client_poll($ai, sub { $_[0]{answer} }, 15) // {};
    my $r = client_wait($ai, 40);
    return ($r, $s->{answer});
}

sub plays_from_edge {
    my ($id, $what, $size) = @_;
    my ($r, $answer) = whep($id);
    is($r->{status}, 201, "$what: the WHEP POST through the balancer: 201")
        or diag(explain $r->{errors});
    my $edge = answered_by($answer);
    like($edge, qr/^edge\d$/,
         "$what: the answer's candidate is an edge's address and port "
         . "($edge)");
    ok($r->{started}, "$what: aiortc decodes video");
    is(($r->{counts}{width} // 0) . 'x' . ($r->{counts}{height} // 0),
       $size, "$what: at $size");
    ok(($r->{counts}{audio_frames} // 0) > 20,
       "$what: audio frames (" . ($r->{counts}{audio_frames} // 0) . ')');
    like(edge_log($edge // ''), qr/ams rtmp pull: "LiveApp\/\Q$id\E" from /,
         "$what: $edge pulled the stream from the origin (a relay)");
    is($r->{stop}{status}, 200,
       "$what: DELETE through the balancer reaches the edge: 200");
    is($r->{stop}{again}, 404, "$what: the session is gone (404)");
    return $edge;
}

# --- RTMP published on the origin, played by WHEP from an edge ---------------
# (WHIP's publisher starts meanwhile, and the 404 of a stream live nowhere
# takes the edge's whole wait: both run beside the first player)

my $pub = publish("rtmp://127.0.0.1:$port{RTMP}/LiveApp/stream1",
                  seconds => 30, size => '320x240', rate => 25);
my $whip = aiortc_start('whip', "$http/LiveApp/whip/cam1", seconds => 0,
                        timeout => 40,
                        args => ['--h264', '--size', '320x180']);

my $nosuch = "$prefix/nosuch.status";
my $kid = fork // die "fork: $!";
if ($kid == 0) {
    # a viewer that leaves while the edge waits: the wait ends with it
    system('curl', '-s', '-o', '/dev/null', '--max-time', '1', '-X', 'POST',
           '-H', 'Content-Type: application/sdp',
           '--data-binary', sdp_offer(), "$http/LiveApp/whep/gone1");
    my $res = http_request(undef, 'POST', "$http/LiveApp/whep/nosuch",
                           body => sdp_offer(), type => 'application/sdp');
    if (open my $fh, '>', $nosuch) {
        print $fh $res->{status};
        close $fh;
    }
    POSIX::_exit(0);     # not exit: the END block would stop the cluster
}

ok(poll_until(sub { broadcasting('stream1') }, 15),
   'stream1 is broadcasting (on the origin)');

my $edge = plays_from_edge('stream1', 'RTMP source', '320x240');
like(edge_log($edge), qr/"stream1" is not here yet: waiting for its pull/,
     'the edge waited for its pull before answering');

waitpid $kid, 0;
is(slurp($nosuch), '404', 'a stream live nowhere: 404 (after the edge\'s wait)');
my $edges_log = edge_log('edge1') . edge_log('edge2');
like($edges_log, qr/the viewer went before "gone1" came/,
     'a viewer gone during the wait ends it');
unlike($edges_log, qr/"gone1" did not come/, '(it does not run out)');

kill 'TERM', $pub;

# --- WHIP through the balancer to the origin, WHEP from an edge --------------

my $ws = client_poll($whip, sub { $_[0]{answer} }, 15) // {};
is(answered_by($ws->{answer}), 'origin1',
   'WHIP through the balancer lands on the origin');
ok(poll_until(sub { broadcasting('cam1') }, 15), 'cam1 is broadcasting');

# Ant Media's WebSocket "play" through the balancer (to an edge): no edge
# has cam1 yet, so the one it reaches pulls it before offering
{
    my $ws = Ams::WebSocket->connect($port{HTTP}, '/LiveApp/websocket');
    ok($ws, 'WebSocket through the balancer') or diag($@);
    $ws->send_json({ command => 'play', streamId => 'cam1' }) if $ws;
    my $offer = $ws ? $ws->expect('takeConfiguration', 10) : undef;
    my $by = answered_by($offer && $offer->{sdp});
    like($by, qr/^edge\d$/, "WebSocket play: an edge's offer ($by)");
    like(edge_log($by), qr/"cam1" is not here yet: waiting for its pull/,
         'WebSocket play: the edge waited for its pull');
    $ws->close if $ws;
}
plays_from_edge('cam1', 'WHIP source', '320x180');
client_stop($whip);
wait_publisher($pub, 10);

($rc, $out) = cluster('stop');
is($rc, 0, 'local.sh stop');

for my $node (qw(origin1 edge1 edge2 balancer)) {
    my $log = slurp("$prefix/$node/logs/error.log") // '';
    my @udp = $log =~ /ams webrtc: worker \d+ receives on UDP port/g;
    is(scalar @udp, 2,
       "$node: one UDP socket per worker (none in the cache manager)")
        if $node ne 'balancer';
    unlike($log, qr/exited on signal|AddressSanitizer/,
           "$node: no worker crashed");
}

done_testing();
